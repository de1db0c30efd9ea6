//! Webhook rows: subscriptions, account events and their deliveries.

use portcullis_core::ids::AccountId;
use std::fmt;

/// A webhook subscription.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Id (`wh_…`).
    pub id: String,
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// What the operator wrote about it.
    pub description: Option<String>,
    /// Bit set of the event types it wants (`core::webhook::EventSet`).
    pub events: i64,
    /// The signing secret, sealed with the keyring (associated data: the id).
    pub secret_sealed: Vec<u8>,
    /// The secret before the last rotation, still signed with until `previous_until`.
    pub previous_secret_sealed: Option<Vec<u8>>,
    /// Unix seconds.
    pub previous_until: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// An account event to write with the change it reports.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// Id, the `webhook-id` of its deliveries (`msg_…`).
    pub id: String,
    /// The account.
    pub account: AccountId,
    /// `account.created`, …
    pub event_type: &'static str,
    /// The type's bit: subscriptions whose `events` have it get a delivery.
    pub bit: i64,
    /// The JSON body, sealed with the keyring (associated data: the id).
    pub payload_sealed: Vec<u8>,
    /// Unix seconds.
    pub at: i64,
}

impl fmt::Debug for AccountEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountEvent")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("event_type", &self.event_type)
            .finish_non_exhaustive()
    }
}

/// A delivery leased to one worker, with what it needs to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Delivery id.
    pub id: i64,
    /// Attempts, this one included.
    pub attempts: i64,
    /// The subscription.
    pub webhook_id: String,
    /// Its URL.
    pub url: String,
    /// Its sealed secret.
    pub secret_sealed: Vec<u8>,
    /// Its previous sealed secret, while the rotation's grace period lasts.
    pub previous_secret_sealed: Option<Vec<u8>>,
    /// End of that grace period.
    pub previous_until: Option<i64>,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The account.
    pub account: AccountId,
    /// The sealed JSON body.
    pub payload_sealed: Vec<u8>,
    /// When the event happened.
    pub event_at: i64,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("event_id", &self.event_id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Deliveries of one subscription by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Waiting or being retried.
    pub pending: i64,
    /// Answered with 2xx.
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
}

/// One delivery as an operator (or a test) sees it, without the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Delivery id.
    pub id: i64,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The account.
    pub account: AccountId,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// HTTP status of the last answer, if any.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}
