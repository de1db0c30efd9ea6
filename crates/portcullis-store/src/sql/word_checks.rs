//! [`WordCheckRepo`]: the `dualconfirm_checks` table, one count per pair, side and word window.
//!
//! The count is taken with one upsert whose update is conditional on the bound, so of any
//! number of concurrent checks (on any node of a PostgreSQL cluster) at most the bound are
//! counted, and the rest learn it from getting no row back.

use async_trait::async_trait;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::repo::WordCheckRepo;

#[async_trait]
impl<DB: Backend> WordCheckRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(pair.id = pair, side = side, window = window))]
    async fn count(
        &self,
        pair: &str,
        side: &str,
        window: i64,
        max: i64,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        if max < 1 {
            return Ok(None);
        }
        let row = self
            .fetch_optional(
                sql(
                    "INSERT INTO dualconfirm_checks (pair_id, side, window_no, used, expires_at) \
                     VALUES ($1, $2, $3, 1, $4) \
                     ON CONFLICT (pair_id, side, window_no) DO UPDATE \
                     SET used = dualconfirm_checks.used + 1 \
                     WHERE dualconfirm_checks.used < $5 \
                     RETURNING used",
                )
                .bind(pair)
                .bind(side)
                .bind(window)
                .bind(expires_at)
                .bind(max),
            )
            .await?;
        row.map(|r| r.get("used")).transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.execute(sql("DELETE FROM dualconfirm_checks WHERE expires_at <= $1").bind(now))
            .await
    }
}
