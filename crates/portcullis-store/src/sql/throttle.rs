//! [`ThrottleRepo`]: the `login_throttle` table of consecutive login failures per key.
//!
//! The key is the blind index of the e-mail tried, a stable pseudonym of an address: spans here
//! carry no fields.

use async_trait::async_trait;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::repo::ThrottleRepo;

#[async_trait]
impl<DB: Backend> ThrottleRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all)]
    async fn get(&self, key: &[u8]) -> Result<Option<(i64, i64)>, StoreError> {
        let row = self
            .fetch_optional(
                sql("SELECT failures, last_failure_at FROM login_throttle WHERE key = $1")
                    .bind(key),
            )
            .await?;
        row.map(|r| Ok((r.get("failures")?, r.get("last_failure_at")?)))
            .transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn record_failure(&self, key: &[u8], now: i64) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(
                sql(
                    "INSERT INTO login_throttle (key, failures, last_failure_at) \
                     VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE \
                     SET failures = login_throttle.failures + 1, last_failure_at = $2 \
                     RETURNING failures",
                )
                .bind(key)
                .bind(now),
            )
            .await?;
        row.get("failures")
    }

    #[instrument(level = "debug", skip_all)]
    async fn clear(&self, key: &[u8]) -> Result<(), StoreError> {
        self.execute(sql("DELETE FROM login_throttle WHERE key = $1").bind(key))
            .await?;
        Ok(())
    }
}
