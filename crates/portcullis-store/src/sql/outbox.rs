//! [`OutboxRepo`]: the durable mail queue in `outbox`. Payloads are sealed by the keyring and
//! erased once a message is sent or given up.
//!
//! A worker leases due messages with one conditional UPDATE, so two nodes never claim the same
//! message while its lease runs.

use async_trait::async_trait;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::model::OutboxItem;
use crate::repo::OutboxRepo;

#[async_trait]
impl<DB: Backend> OutboxRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(outbox.id = id))]
    async fn enqueue(&self, id: &str, payload: &[u8], now: i64) -> Result<(), StoreError> {
        self.execute(
            sql(
                "INSERT INTO outbox (id, payload, attempts, next_attempt_at, created_at) \
                 VALUES ($1, $2, 0, $3, $3)",
            )
            .bind(id)
            .bind(payload)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(limit = limit))]
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox \
                         WHERE sent_at IS NULL AND dead = FALSE AND next_attempt_at <= $1 \
                         AND (claimed_until IS NULL OR claimed_until <= $1) \
                         ORDER BY next_attempt_at LIMIT $3) \
                     AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1) \
                     RETURNING id, payload, attempts",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: r.get("id")?,
                    payload: r.get("payload")?,
                    attempts: r.get("attempts")?,
                })
            })
            .collect()
    }

    #[instrument(level = "debug", skip_all, fields(outbox.id = id))]
    async fn mark_sent(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE outbox SET sent_at = $1, payload = $2, claimed_until = NULL WHERE id = $3")
                .bind(now)
                .bind(Vec::<u8>::new())
                .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(outbox.id = id, dead = dead))]
    async fn mark_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        error: &str,
        dead: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            sql(
                "UPDATE outbox SET next_attempt_at = $1, last_error = $2, dead = $3, \
                 claimed_until = NULL, payload = CASE WHEN $3 THEN $4 ELSE payload END \
                 WHERE id = $5",
            )
            .bind(next_attempt_at)
            .bind(error)
            .bind(dead)
            .bind(Vec::<u8>::new())
            .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all)]
    async fn backlog(&self) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(sql(
                "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND dead = FALSE",
            ))
            .await?;
        row.get("n")
    }
}
