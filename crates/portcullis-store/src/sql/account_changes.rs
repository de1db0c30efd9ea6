//! [`AccountChangeRepo`]: the statements of `accounts.rs`, each run in one transaction with
//! the insert of its webhook event and the event's deliveries (one per subscription that wants
//! its type, selected in SQL by the type's bit). The event is written after the change, so
//! two changes of one account (which lock its row) number their events in commit order.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use tracing::instrument;

use super::SqlStore;
use super::accounts;
use super::backend::{Backend, Tx, sql};
use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{AccountEvent, AccountRecord, AccountStatus};
use crate::repo::AccountChangeRepo;

/// Writes `event` and its deliveries in `tx`; an event nobody subscribed to is not kept.
pub(super) async fn emit<DB: Backend>(
    tx: &mut Tx<DB>,
    event: &AccountEvent,
) -> Result<(), StoreError> {
    let row = tx
        .fetch_one(
            sql(
                "INSERT INTO webhook_events (id, account_id, event_type, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING seq",
            )
            .bind(event.id.as_str())
            .bind(event.account)
            .bind(event.event_type)
            .bind(&event.payload_sealed)
            .bind(event.at),
        )
        .await?;
    let seq: i64 = row.get("seq")?;
    let fanned = tx
        .execute(
            sql("INSERT INTO webhook_deliveries \
                 (webhook_id, event_seq, account_id, state, attempts, next_attempt_at, created_at) \
                 SELECT id, $1, $2, 'pending', 0, $3, $3 FROM webhooks WHERE (events & $4) <> 0")
            .bind(seq)
            .bind(event.account)
            .bind(event.at)
            .bind(event.bit),
        )
        .await?;
    if fanned == 0 {
        tx.execute(sql("DELETE FROM webhook_events WHERE seq = $1").bind(seq))
            .await?;
    }
    Ok(())
}

#[async_trait]
impl<DB: Backend> AccountChangeRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(account.id = %a.id, event.id = %event.id))]
    async fn create_with_event(
        &self,
        a: &AccountRecord,
        key: &WrappedKey,
        event: &AccountEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(accounts::insert_account(a)?).await?;
        tx.execute(accounts::insert_key(a.id, key)).await?;
        emit(&mut tx, event).await?;
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id, event.id = %event.id))]
    async fn mark_verified_with_event(
        &self,
        id: AccountId,
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(accounts::mark_verified(id, now)).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        emit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %a.id, event.id = %event.id))]
    async fn update_pii_with_event(
        &self,
        a: &AccountRecord,
        now: i64,
        event: &AccountEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(accounts::update_pii(a, now)).await? == 1 {
            emit(&mut tx, event).await?;
        }
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id, event.id = %event.id))]
    async fn set_status_with_event(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(accounts::set_status(id, status, now)).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        emit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id, event.id = %event.id))]
    async fn set_roles_with_event(
        &self,
        id: AccountId,
        roles: &[String],
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(accounts::set_roles(id, roles, now)?).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        emit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id, event.id = %event.id))]
    async fn shred_with_event(
        &self,
        id: AccountId,
        now: i64,
        event: &AccountEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for statement in accounts::shred(id, now) {
            tx.execute(statement).await?;
        }
        emit(&mut tx, event).await?;
        tx.commit().await
    }
}
