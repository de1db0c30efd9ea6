//! Webhooks: services learn of accounts (Standard Webhooks).
//!
//! Subscriptions are managed here (by `portcullis webhook …` and `/v1/admin/webhooks`): each
//! has an http(s) URL, the event types it wants and a secret, shown once at creation and at
//! rotation and otherwise kept only sealed with the keyring. After a rotation the old secret
//! signs too, beside the new one, for `[webhooks] rotation_grace_secs`, so a subscriber can
//! switch without losing a delivery (the specification allows several signatures).
//!
//! The events are written by the account services with the change they report (`events`); the
//! worker in `delivery` sends them. Every change to a subscription is audited, never with its
//! secret.

pub mod delivery;
pub mod events;

use portcullis_core::webhook::{EventSet, WebhookSecret};
use portcullis_store::model::{DeliveryCounts, WebhookRecord};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// Longest accepted URL.
const MAX_URL: usize = 2048;
/// Longest accepted description.
const MAX_DESCRIPTION: usize = 200;

/// Associated data of a sealed secret: the subscription's id.
pub(crate) fn secret_aad(id: &str) -> Vec<u8> {
    format!("portcullis/webhook-secret/v1:{id}").into_bytes()
}

/// A subscription as an operator sees it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    /// Id (`wh_…`).
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// What the operator wrote about it.
    pub description: Option<String>,
    /// The event types it gets.
    pub events: Vec<&'static str>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Until when (unix seconds) the secret before the last rotation still signs.
    pub previous_secret_until: Option<i64>,
    /// Deliveries waiting or being retried.
    pub pending: i64,
    /// Deliveries answered with 2xx.
    pub delivered: i64,
    /// Deliveries given up.
    pub failed: i64,
}

/// A subscription with its secret: the one answer that shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithSecret {
    /// The subscription.
    #[serde(flatten)]
    pub subscription: Subscription,
    /// `whsec_…`: verify deliveries with it. Shown once.
    pub secret: String,
}

fn view(record: &WebhookRecord, counts: DeliveryCounts) -> Subscription {
    Subscription {
        id: record.id.clone(),
        url: record.url.clone(),
        description: record.description.clone(),
        events: EventSet::from_bits(record.events)
            .map(EventSet::names)
            .unwrap_or_default(),
        created_at: record.created_at,
        updated_at: record.updated_at,
        previous_secret_until: record.previous_until,
        pending: counts.pending,
        delivered: counts.delivered,
        failed: counts.failed,
    }
}

/// An absolute `http` or `https` URL with a host and no user name or password in it.
fn parse_url(url: &str) -> Result<String, ServiceError> {
    let bad = |why: &'static str| ServiceError::invalid(Invalid::WebhookUrl, why);
    if url.len() > MAX_URL {
        return Err(bad("the URL is too long"));
    }
    let parsed = url::Url::parse(url).map_err(|_| bad("not an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the URL must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("the URL must not carry credentials"));
    }
    Ok(parsed.to_string())
}

fn parse_events(events: &[String]) -> Result<EventSet, ServiceError> {
    EventSet::parse(events).map_err(|name| {
        ServiceError::invalid(
            Invalid::WebhookEvent,
            format!(
                "unknown event type {name:?} (account.created, account.verified, \
                 account.updated, account.disabled, account.deleted)"
            ),
        )
    })
}

/// Creates a subscription to `events` (empty: all) at `url`.
///
/// # Errors
/// A bad URL, event type or description.
#[tracing::instrument(skip_all)]
pub async fn add(
    state: &AppState,
    url: &str,
    events: &[String],
    description: Option<String>,
    actor: String,
    client: Option<&ClientInfo>,
) -> Result<WithSecret, ServiceError> {
    let url = parse_url(url)?;
    let events = parse_events(events)?;
    let description = description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            Invalid::Label,
            "the description must be at most 200 characters, without control characters",
        ));
    }
    let id = format!("wh_{}", uuid::Uuid::now_v7().simple());
    let secret = WebhookSecret::generate(state.entropy.as_ref());
    let now = state.now();
    let record = WebhookRecord {
        secret_sealed: state
            .keyring()
            .seal_secret(secret.expose_bytes(), &secret_aad(&id))?,
        id,
        url,
        description,
        events: events.bits(),
        previous_secret_sealed: None,
        previous_until: None,
        created_at: now,
        updated_at: now,
    };
    state.store.webhooks.create(&record).await?;
    audit::record(
        state,
        "admin.webhook_added",
        Some(actor),
        Some(record.id.clone()),
        client,
        json!({ "url": record.url, "events": events.names() }),
    )
    .await?;
    Ok(WithSecret {
        subscription: view(&record, DeliveryCounts::default()),
        secret: secret.expose_whsec(),
    })
}

/// Every subscription, with its delivery counts.
///
/// # Errors
/// Storage failure.
pub async fn list(state: &AppState) -> Result<Vec<Subscription>, ServiceError> {
    let mut out = Vec::new();
    for record in state.store.webhooks.list().await? {
        let counts = state.store.webhooks.counts(&record.id).await?;
        out.push(view(&record, counts));
    }
    Ok(out)
}

/// Removes a subscription and its pending deliveries.
///
/// # Errors
/// [`ServiceError::NotFound`].
#[tracing::instrument(skip_all, fields(webhook.id = id))]
pub async fn remove(
    state: &AppState,
    id: &str,
    actor: String,
    client: Option<&ClientInfo>,
) -> Result<(), ServiceError> {
    if !state.store.webhooks.delete(id).await? {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.webhook_removed",
        Some(actor),
        Some(id.to_owned()),
        client,
        json!({}),
    )
    .await
}

/// Gives a subscription a new secret; the current one keeps signing beside it for the grace
/// period (a secret still in its grace period from an earlier rotation stops at once).
///
/// # Errors
/// [`ServiceError::NotFound`].
#[tracing::instrument(skip_all, fields(webhook.id = id))]
pub async fn rotate_secret(
    state: &AppState,
    id: &str,
    actor: String,
    client: Option<&ClientInfo>,
) -> Result<WithSecret, ServiceError> {
    let record = state
        .store
        .webhooks
        .get(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let secret = WebhookSecret::generate(state.entropy.as_ref());
    let sealed = state
        .keyring()
        .seal_secret(secret.expose_bytes(), &secret_aad(id))?;
    let now = state.now();
    let grace = i64::try_from(state.config.webhooks.rotation_grace.as_secs()).unwrap_or(i64::MAX);
    let until = now.saturating_add(grace);
    if !state
        .store
        .webhooks
        .rotate_secret(id, &sealed, &record.secret_sealed, until, now)
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.webhook_secret_rotated",
        Some(actor),
        Some(id.to_owned()),
        client,
        json!({ "previous_secret_until": until }),
    )
    .await?;
    let record = state
        .store
        .webhooks
        .get(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let counts = state.store.webhooks.counts(id).await?;
    Ok(WithSecret {
        subscription: view(&record, counts),
        secret: secret.expose_whsec(),
    })
}
