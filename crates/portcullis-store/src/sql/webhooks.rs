//! [`WebhookRepo`]: the `webhooks` subscriptions and the `webhook_deliveries` queue.
//!
//! Workers lease due deliveries with one conditional UPDATE (as the mail outbox does), so two
//! nodes never hold the same delivery while its lease runs. A delivery is due only when no
//! earlier delivery of the same subscription and account is pending, which keeps each
//! account's events in order while different accounts go out side by side. Once no delivery
//! of an event is pending, its sealed payload (which holds an e-mail address) is erased.

use async_trait::async_trait;
use tracing::instrument;

use super::backend::{Backend, Row, Tx, sql};
use super::{SqlStore, account_id};
use crate::error::StoreError;
use crate::model::{Delivery, DeliveryCounts, DeliveryStatus, WebhookRecord};
use crate::repo::WebhookRepo;

macro_rules! columns {
    () => {
        "id, url, description, events, secret_sealed, previous_secret_sealed, previous_until, \
         created_at, updated_at"
    };
}

fn webhook<DB: Backend>(r: &Row<DB>) -> Result<WebhookRecord, StoreError> {
    Ok(WebhookRecord {
        id: r.get("id")?,
        url: r.get("url")?,
        description: r.get("description")?,
        events: r.get("events")?,
        secret_sealed: r.get("secret_sealed")?,
        previous_secret_sealed: r.get("previous_secret_sealed")?,
        previous_until: r.get("previous_until")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn delivery<DB: Backend>(r: &Row<DB>) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.get("id")?,
        attempts: r.get("attempts")?,
        webhook_id: r.get("webhook_id")?,
        url: r.get("url")?,
        secret_sealed: r.get("secret_sealed")?,
        previous_secret_sealed: r.get("previous_secret_sealed")?,
        previous_until: r.get("previous_until")?,
        event_id: r.get("event_id")?,
        event_type: r.get("event_type")?,
        account: account_id(&r.get::<String>("account_id")?)?,
        payload_sealed: r.get("payload")?,
        event_at: r.get("event_at")?,
    })
}

/// Ends a delivery and erases its event's payload when no delivery of it is pending.
async fn finish<DB: Backend>(
    mut tx: Tx<DB>,
    id: i64,
    state: &str,
    status: Option<i64>,
    error: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        sql(
            "UPDATE webhook_deliveries SET state = $1, last_status = $2, last_error = $3, \
             finished_at = $4, claimed_until = NULL WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(status)
        .bind(error.map(str::to_owned))
        .bind(now)
        .bind(id),
    )
    .await?;
    tx.execute(
        sql("UPDATE webhook_events SET payload = $1 WHERE seq = \
             (SELECT event_seq FROM webhook_deliveries WHERE id = $2) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                 WHERE d.event_seq = webhook_events.seq AND d.state = 'pending')")
        .bind(Vec::<u8>::new())
        .bind(id),
    )
    .await?;
    tx.commit().await
}

#[async_trait]
impl<DB: Backend> WebhookRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(webhook.id = %w.id))]
    async fn create(&self, w: &WebhookRecord) -> Result<(), StoreError> {
        self.execute(
            sql(concat!(
                "INSERT INTO webhooks (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(w.id.as_str())
            .bind(w.url.as_str())
            .bind(&w.description)
            .bind(w.events)
            .bind(&w.secret_sealed)
            .bind(&w.previous_secret_sealed)
            .bind(w.previous_until)
            .bind(w.created_at)
            .bind(w.updated_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(webhook.id = id))]
    async fn get(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM webhooks WHERE id = $1"
        ))
        .bind(id);
        self.fetch_optional(q)
            .await?
            .as_ref()
            .map(webhook)
            .transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn list(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM webhooks ORDER BY created_at, id"
        ));
        self.fetch_all(q).await?.iter().map(webhook).collect()
    }

    #[instrument(level = "debug", skip_all, fields(webhook.id = id))]
    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // Explicit rather than by cascade, then the payloads nothing waits for are erased.
        tx.execute(sql("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id))
            .await?;
        let gone = tx
            .execute(sql("DELETE FROM webhooks WHERE id = $1").bind(id))
            .await?;
        tx.execute(
            sql(
                "UPDATE webhook_events SET payload = $1 WHERE length(payload) > 0 \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                     WHERE d.event_seq = webhook_events.seq AND d.state = 'pending')",
            )
            .bind(Vec::<u8>::new()),
        )
        .await?;
        tx.commit().await?;
        Ok(gone == 1)
    }

    #[instrument(level = "debug", skip_all, fields(webhook.id = id))]
    async fn rotate_secret(
        &self,
        id: &str,
        secret_sealed: &[u8],
        previous_sealed: &[u8],
        previous_until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE webhooks SET secret_sealed = $1, previous_secret_sealed = $2, \
                     previous_until = $3, updated_at = $4 WHERE id = $5",
                )
                .bind(secret_sealed)
                .bind(previous_sealed)
                .bind(previous_until)
                .bind(now)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(limit = limit))]
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let claimed = self
            .fetch_all(
                sql(
                    "UPDATE webhook_deliveries SET claimed_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                         WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                         AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
                         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                             WHERE e.webhook_id = d.webhook_id AND e.account_id = d.account_id \
                             AND e.state = 'pending' AND e.event_seq < d.event_seq) \
                         ORDER BY d.event_seq LIMIT $3) \
                     AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= $1) \
                     RETURNING id",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit),
            )
            .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for row in claimed {
            let id: i64 = row.get("id")?;
            let q = sql(
                "SELECT d.id, d.attempts, d.webhook_id, w.url, w.secret_sealed, \
                         w.previous_secret_sealed, w.previous_until, e.id AS event_id, \
                         e.event_type, e.account_id, e.payload, e.created_at AS event_at \
                         FROM webhook_deliveries d \
                         JOIN webhook_events e ON e.seq = d.event_seq \
                         JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
            )
            .bind(id);
            // A subscription removed meanwhile took its deliveries along.
            if let Some(r) = self.fetch_optional(q).await? {
                out.push(delivery(&r)?);
            }
        }
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    #[instrument(level = "debug", skip_all, fields(delivery.id = id))]
    async fn mark_delivered(&self, id: i64, status: i64, now: i64) -> Result<(), StoreError> {
        finish(
            self.begin().await?,
            id,
            "delivered",
            Some(status),
            None,
            now,
        )
        .await
    }

    #[instrument(level = "debug", skip_all, fields(delivery.id = id))]
    async fn mark_retry(
        &self,
        id: i64,
        status: Option<i64>,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            sql(
                "UPDATE webhook_deliveries SET next_attempt_at = $1, last_status = $2, \
                 last_error = $3, claimed_until = NULL WHERE id = $4 AND state = 'pending'",
            )
            .bind(next_attempt_at)
            .bind(status)
            .bind(error)
            .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(delivery.id = id))]
    async fn mark_failed(
        &self,
        id: i64,
        status: Option<i64>,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        finish(self.begin().await?, id, "failed", status, Some(error), now).await
    }

    #[instrument(level = "debug", skip_all, fields(webhook.id = webhook_id))]
    async fn counts(&self, webhook_id: &str) -> Result<DeliveryCounts, StoreError> {
        let rows = self
            .fetch_all(
                sql("SELECT state, COUNT(*) AS n FROM webhook_deliveries \
                     WHERE webhook_id = $1 GROUP BY state")
                .bind(webhook_id),
            )
            .await?;
        let mut counts = DeliveryCounts::default();
        for r in rows {
            let n: i64 = r.get("n")?;
            match r.get::<String>("state")?.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "failed" => counts.failed = n,
                other => return Err(StoreError::Corrupt(format!("delivery state {other:?}"))),
            }
        }
        Ok(counts)
    }

    #[instrument(level = "debug", skip_all, fields(webhook.id = webhook_id))]
    async fn deliveries(
        &self,
        webhook_id: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryStatus>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "SELECT d.id, e.id AS event_id, e.event_type, d.account_id, d.state, \
                     d.attempts, d.last_status, d.last_error FROM webhook_deliveries d \
                     JOIN webhook_events e ON e.seq = d.event_seq \
                     WHERE d.webhook_id = $1 ORDER BY d.event_seq DESC LIMIT $2",
                )
                .bind(webhook_id)
                .bind(limit),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryStatus {
                    id: r.get("id")?,
                    event_id: r.get("event_id")?,
                    event_type: r.get("event_type")?,
                    account: account_id(&r.get::<String>("account_id")?)?,
                    state: r.get("state")?,
                    attempts: r.get("attempts")?,
                    last_status: r.get("last_status")?,
                    last_error: r.get("last_error")?,
                })
            })
            .collect()
    }

    #[instrument(level = "debug", skip_all)]
    async fn backlog(&self) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(sql(
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'",
            ))
            .await?;
        row.get("n")
    }
}
