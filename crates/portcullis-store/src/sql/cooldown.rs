//! [`CooldownRepo`]: the `send_cooldown` table, messages per recipient and kind in a window.
//!
//! The recipient is a keyed hash of an address or phone number, a stable pseudonym: spans
//! here carry the kind only.

use async_trait::async_trait;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::repo::CooldownRepo;

#[async_trait]
impl<DB: Backend> CooldownRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(kind = kind))]
    async fn count_send(
        &self,
        recipient: &[u8],
        kind: &str,
        now: i64,
        window: i64,
    ) -> Result<i64, StoreError> {
        // One statement, so concurrent sends on any node are counted one by one: both
        // databases evaluate every SET expression against the row as it was.
        let row = self
            .fetch_one(
                sql(
                    "INSERT INTO send_cooldown (recipient, kind, window_start, sent) \
                     VALUES ($1, $2, $3, 1) ON CONFLICT (recipient, kind) DO UPDATE SET \
                     sent = CASE WHEN send_cooldown.window_start <= $4 THEN 1 \
                                 ELSE send_cooldown.sent + 1 END, \
                     window_start = CASE WHEN send_cooldown.window_start <= $4 THEN $3 \
                                         ELSE send_cooldown.window_start END \
                     RETURNING sent",
                )
                .bind(recipient)
                .bind(kind)
                .bind(now)
                .bind(now.saturating_sub(window)),
            )
            .await?;
        row.get("sent")
    }

    #[instrument(level = "debug", skip_all)]
    async fn purge_started_before(&self, before: i64) -> Result<u64, StoreError> {
        self.execute(sql("DELETE FROM send_cooldown WHERE window_start <= $1").bind(before))
            .await
    }
}
