//! [`AuditRepo`]: the hash-chained `audit_log` and its head in `audit_head`.
//!
//! Appenders serialise on the single head row, so the chain has no forks on either backend.
//! The log references no other table: shredding an account leaves its audit records intact.

use async_trait::async_trait;
use portcullis_core::audit::{self, AuditEvent, AuditRecord};
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, hash32};
use crate::error::StoreError;
use crate::repo::AuditRepo;

fn record<DB: Backend>(r: &Row<DB>) -> Result<AuditRecord, StoreError> {
    let detail = serde_json::from_str(&r.get::<String>("detail")?)
        .map_err(|e| StoreError::decode("audit detail", e))?;
    Ok(AuditRecord {
        seq: r.get("seq")?,
        at: r.get("at")?,
        event: AuditEvent {
            event: r.get("event")?,
            actor: r.get("actor")?,
            subject: r.get("subject")?,
            ip: r.get("ip")?,
            detail,
        },
        prev_hash: hash32(r.get("prev_hash")?)?,
        hash: hash32(r.get("hash")?)?,
    })
}

#[async_trait]
impl<DB: Backend> AuditRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(audit.event = %event.event, audit.seq = tracing::field::Empty))]
    async fn append(&self, at: i64, event: AuditEvent) -> Result<AuditRecord, StoreError> {
        let mut tx = self.begin().await?;
        // Taking the head row first serialises appenders on both backends.
        let head = tx
            .fetch_one(sql(
                "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
            ))
            .await?;
        let seq: i64 = head.get("seq")?;
        let prev = hash32(head.get("hash")?)?;
        let record = audit::chain((seq > 1).then_some((seq - 1, prev)), at, event);
        if record.seq != seq {
            return Err(StoreError::Corrupt("audit head out of step".into()));
        }
        tracing::Span::current().record("audit.seq", seq);
        tx.execute(
            sql(
                "INSERT INTO audit_log (seq, at, event, actor, subject, ip, detail, prev_hash, \
                 hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(record.seq)
            .bind(record.at)
            .bind(&record.event.event)
            .bind(&record.event.actor)
            .bind(&record.event.subject)
            .bind(&record.event.ip)
            .bind(record.event.detail.to_string())
            .bind(record.prev_hash.as_slice())
            .bind(record.hash.as_slice()),
        )
        .await?;
        tx.execute(
            sql("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(record.hash.as_slice()),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    #[instrument(level = "debug", skip_all, fields(after = after, limit = limit))]
    async fn page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "SELECT seq, at, event, actor, subject, ip, detail, prev_hash, hash \
                     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit),
            )
            .await?;
        rows.iter().map(record).collect()
    }

    #[instrument(level = "debug", skip_all, fields(limit = limit))]
    async fn by_actor(&self, actor: &str, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "SELECT seq, at, event, actor, subject, ip, detail, prev_hash, hash \
                     FROM (SELECT * FROM audit_log WHERE actor = $1 \
                         ORDER BY seq DESC LIMIT $2) AS recent \
                     ORDER BY seq",
                )
                .bind(actor)
                .bind(limit),
            )
            .await?;
        rows.iter().map(record).collect()
    }

    #[instrument(level = "debug", skip_all)]
    async fn head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        let row = self
            .fetch_one(sql("SELECT seq, hash FROM audit_head WHERE id = 1"))
            .await?;
        let seq: i64 = row.get("seq")?;
        Ok(if seq == 0 {
            None
        } else {
            Some((seq, hash32(row.get("hash")?)?))
        })
    }

    #[instrument(level = "debug", skip_all)]
    async fn clear_after_migration(&self) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(sql("DELETE FROM audit_log")).await?;
        tx.execute(
            sql("UPDATE audit_head SET seq = 0, hash = $1 WHERE id = 1")
                .bind(audit::GENESIS.as_slice()),
        )
        .await?;
        tx.commit().await
    }
}
