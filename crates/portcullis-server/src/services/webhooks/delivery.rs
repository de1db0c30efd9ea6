//! The delivery worker: leases due deliveries (in order per account, side by side across
//! accounts, safe on several nodes: see `WebhookRepo::claim_due`), signs each with the
//! subscription's secret (and the previous one during a rotation's grace period) at the time
//! of the attempt, and POSTs it. A 2xx answer delivers it; anything else (another status, a
//! redirect, which is never followed, a timeout, a refused connection) is retried with
//! exponential back-off until `[webhooks] max_attempts` or `max_age_secs`, then given up:
//! marked failed, counted and audited, and the account's later events go on.

use std::time::Duration;

use futures_util::future::join_all;
use portcullis_core::webhook::{AfterFailure, WebhookSecret, signature_header};
use portcullis_store::model::Delivery;
use serde_json::json;

use super::{events, secret_aad};
use crate::services::{ServiceError, audit};
use crate::state::AppState;

/// The HTTP client of the worker: no redirects, the configured timeout, no cookies.
///
/// # Errors
/// The TLS backend cannot start.
pub fn client(state: &AppState) -> Result<reqwest::Client, ServiceError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(state.config.webhooks.timeout)
        .connect_timeout(state.config.webhooks.timeout)
        .user_agent(concat!("Portcullis-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ServiceError::unexpected(format!("webhook HTTP client: {e}")))
}

/// Delivers due events until the task is dropped.
pub async fn run_worker(state: AppState) {
    let client = match client(&state) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery is off");
            return;
        }
    };
    loop {
        match deliver_due(&state, &client).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook delivery pass failed"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One pass: leases up to `[webhooks] concurrency` due deliveries and sends them at once;
/// returns how many were handled.
///
/// # Errors
/// Storage failure while leasing.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(
    state: &AppState,
    client: &reqwest::Client,
) -> Result<usize, ServiceError> {
    let cfg = &state.config.webhooks;
    let now = state.now();
    // The lease outlasts the longest attempt, so no other node takes a delivery in flight.
    let lease = i64::try_from(cfg.timeout.as_secs()).unwrap_or(300) + 30;
    let limit = i64::try_from(cfg.concurrency).unwrap_or(8);
    let due = state
        .store
        .webhooks
        .claim_due(now, now + lease, limit)
        .await?;
    let n = due.len();
    for result in join_all(due.iter().map(|d| deliver(state, client, d))).await {
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording a webhook delivery failed");
        }
    }
    Ok(n)
}

/// Sends one delivery and records the outcome.
#[tracing::instrument(skip_all, fields(webhook.id = %d.webhook_id, event.id = %d.event_id, attempt = d.attempts))]
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    d: &Delivery,
) -> Result<(), ServiceError> {
    let outcome = attempt(state, client, d).await;
    let now = state.now();
    let (status, error) = match outcome {
        Ok(status) => {
            state
                .store
                .webhooks
                .mark_delivered(d.id, status, now)
                .await?;
            metrics::counter!("portcullis_webhook_deliveries_total", "outcome" => "delivered")
                .increment(1);
            return Ok(());
        }
        Err(failure) => failure,
    };
    match state
        .config
        .webhooks
        .retry_policy()
        .after_failure(d.attempts, d.event_at, now)
    {
        AfterFailure::RetryAt(at) => {
            tracing::info!(error = %error, retry_at = at, "webhook delivery failed; will retry");
            metrics::counter!("portcullis_webhook_deliveries_total", "outcome" => "retried")
                .increment(1);
            Ok(state
                .store
                .webhooks
                .mark_retry(d.id, status, &error, at)
                .await?)
        }
        AfterFailure::GiveUp => {
            tracing::warn!(error = %error, "webhook delivery given up");
            metrics::counter!("portcullis_webhook_deliveries_total", "outcome" => "failed")
                .increment(1);
            state
                .store
                .webhooks
                .mark_failed(d.id, status, &error, now)
                .await?;
            audit::record(
                state,
                "webhook.delivery_failed",
                Some("webhooks".into()),
                Some(d.webhook_id.clone()),
                None,
                json!({
                    "event_id": d.event_id, "event_type": d.event_type,
                    "account": d.account.to_string(), "attempts": d.attempts,
                    "status": status, "error": error,
                }),
            )
            .await
        }
    }
}

/// One POST: the 2xx status, or the status (if any) and why it failed.
async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    d: &Delivery,
) -> Result<i64, (Option<i64>, String)> {
    let fail = |e: ServiceError| (None, format!("cannot prepare the delivery: {e}"));
    let body = events::open(state, &d.event_id, &d.payload_sealed).map_err(fail)?;
    let secrets = secrets(state, d).map_err(fail)?;
    let refs: Vec<&WebhookSecret> = secrets.iter().collect();
    let timestamp = state.now();
    let signature = signature_header(&refs, &d.event_id, timestamp, &body);
    let response = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, e.without_url().to_string()))?;
    let status = response.status();
    let code = i64::from(status.as_u16());
    if status.is_success() {
        Ok(code)
    } else if status.is_redirection() {
        Err((
            Some(code),
            format!("HTTP {code} (redirects are not followed)"),
        ))
    } else {
        Err((Some(code), format!("HTTP {code}")))
    }
}

/// The secrets to sign with: the current one, then the previous one while its grace lasts.
fn secrets(state: &AppState, d: &Delivery) -> Result<Vec<WebhookSecret>, ServiceError> {
    let keyring = state.keyring();
    let aad = secret_aad(&d.webhook_id);
    let open = |sealed: &[u8]| -> Result<WebhookSecret, ServiceError> {
        let bytes = keyring.open_secret(sealed, &aad)?;
        WebhookSecret::from_bytes(bytes)
            .map_err(|_| ServiceError::unexpected("a stored webhook secret has a bad length"))
    };
    let mut out = vec![open(&d.secret_sealed)?];
    if let (Some(previous), Some(until)) = (&d.previous_secret_sealed, d.previous_until)
        && until > state.now()
    {
        out.push(open(previous)?);
    }
    Ok(out)
}
