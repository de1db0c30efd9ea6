//! [`WebhookRepo`]: webhook subscriptions and the delivery queue; [`AccountChangeRepo`]: the
//! account changes that write their [`AccountEvent`] in the same transaction, so an event is
//! never lost nor reported for a change that did not happen.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;

use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{
    AccountEvent, AccountRecord, AccountStatus, Delivery, DeliveryCounts, DeliveryStatus,
    WebhookRecord,
};

/// Webhook subscriptions and their deliveries.
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    /// Inserts a subscription.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id is taken.
    async fn create(&self, webhook: &WebhookRecord) -> Result<(), StoreError>;
    /// Reads one subscription.
    async fn get(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError>;
    /// Every subscription, oldest first.
    async fn list(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    /// Removes a subscription and its deliveries; returns whether it existed.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces the sealed secret, keeping the old one (sealed) until `previous_until`;
    /// returns whether the subscription exists.
    async fn rotate_secret(
        &self,
        id: &str,
        secret_sealed: &[u8],
        previous_sealed: &[u8],
        previous_until: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Leases up to `limit` due deliveries until `lease_until`, counting an attempt for each.
    /// A delivery is due when its retry time has come, no other worker holds it, and no
    /// earlier delivery of the same subscription and account is pending: each account's
    /// events go out in order, different accounts' side by side.
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Records a delivery answered with 2xx.
    async fn mark_delivered(&self, id: i64, status: i64, now: i64) -> Result<(), StoreError>;
    /// Records a failed attempt to retry at `next_attempt_at`.
    async fn mark_retry(
        &self,
        id: i64,
        status: Option<i64>,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError>;
    /// Gives a delivery up: later events of its account go on.
    async fn mark_failed(
        &self,
        id: i64,
        status: Option<i64>,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Deliveries of a subscription by state.
    async fn counts(&self, webhook_id: &str) -> Result<DeliveryCounts, StoreError>;
    /// The latest deliveries of a subscription, newest first, at most `limit`.
    async fn deliveries(
        &self,
        webhook_id: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryStatus>, StoreError>;
    /// Deliveries pending across subscriptions.
    async fn backlog(&self) -> Result<i64, StoreError>;
}

/// Account changes with their event, atomically. Each writes the event (and one pending
/// delivery per subscription that wants its type) only when the change happened; an event
/// no subscription wants is not kept.
#[async_trait]
pub trait AccountChangeRepo: Send + Sync {
    /// [`AccountRepo::create`](crate::repo::AccountRepo::create) with its event.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the e-mail index is taken (nothing is written).
    async fn create_with_event(
        &self,
        account: &AccountRecord,
        key: &WrappedKey,
        event: &AccountEvent,
    ) -> Result<(), StoreError>;
    /// [`AccountRepo::mark_verified`](crate::repo::AccountRepo::mark_verified) with its event.
    async fn mark_verified_with_event(
        &self,
        id: AccountId,
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError>;
    /// [`AccountRepo::update_pii`](crate::repo::AccountRepo::update_pii) with its event.
    async fn update_pii_with_event(
        &self,
        account: &AccountRecord,
        now: i64,
        event: &AccountEvent,
    ) -> Result<(), StoreError>;
    /// [`AccountRepo::set_status`](crate::repo::AccountRepo::set_status) with its event.
    async fn set_status_with_event(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError>;
    /// [`AccountRepo::set_roles`](crate::repo::AccountRepo::set_roles) with its event.
    async fn set_roles_with_event(
        &self,
        id: AccountId,
        roles: &[String],
        now: i64,
        event: &AccountEvent,
    ) -> Result<bool, StoreError>;
    /// [`AccountRepo::shred`](crate::repo::AccountRepo::shred) with its event.
    async fn shred_with_event(
        &self,
        id: AccountId,
        now: i64,
        event: &AccountEvent,
    ) -> Result<(), StoreError>;
}
