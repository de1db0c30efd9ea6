//! [`HealthRepo`]: a trivial round trip, for `/health/detailed`.

use async_trait::async_trait;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::repo::HealthRepo;

#[async_trait]
impl<DB: Backend> HealthRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(backend = DB::LABEL))]
    async fn ping(&self) -> Result<(), StoreError> {
        self.fetch_one(sql("SELECT 1 AS one")).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        DB::LABEL
    }
}
