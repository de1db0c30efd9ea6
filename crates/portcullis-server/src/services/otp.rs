//! Sending and checking one-time codes by e-mail or SMS.
//!
//! A code is bound to its channel and to what it proves (the factor being enrolled or the
//! login challenge answering it), so a code sent for one purpose never answers another.

use portcullis_core::factor::otp::{Channel, OtpCode};
use portcullis_core::ids::AccountId;
use portcullis_store::model::OtpOutcome;
use serde_json::json;

use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::audit;
use crate::services::cooldown::{self, Message};
use crate::services::mail::{self, Mail};
use crate::state::AppState;

/// Window of the resend bound (per account, and per recipient in `cooldown`).
pub(crate) const SEND_WINDOW_SECS: i64 = 900;

fn hash(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    target: &str,
    code: &OtpCode,
) -> Vec<u8> {
    state
        .keyring()
        .blind_index(
            "otp",
            &format!("{account}:{channel}:{target}:{}", code.expose()),
        )
        .to_vec()
}

/// Sends a fresh code for `target` to `destination` (a phone number or an address).
///
/// # Errors
/// Too many codes sent lately, or delivery failed.
#[tracing::instrument(skip_all, fields(account.id = %account, otp.channel = %channel))]
pub async fn send(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    target: &str,
    destination: &str,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    let now = state.now();
    let cfg = &state.config.mfa;
    if state
        .store
        .otp
        .sent_since(account, channel.as_str(), now - SEND_WINDOW_SECS)
        .await?
        >= cfg.otp_max_sends
    {
        metrics::counter!("portcullis_rate_limited_total", "scope" => "otp_send").increment(1);
        return Err(ServiceError::RateLimited { retry_after: 60 });
    }
    // The recipient's own bound, across accounts: a dropped code is answered as a sent one.
    let kind = match channel {
        Channel::Sms => Message::SmsCode,
        Channel::Email => Message::EmailCode,
    };
    if !cooldown::admit(state, kind, destination, Some(account), Some(client)).await? {
        return Ok(cfg.otp_ttl.as_secs_i64());
    }
    let code = OtpCode::generate(state.entropy.as_ref());
    let id = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let code_hash = hash(state, account, channel, target, &code);
    state
        .store
        .otp
        .issue(
            &id,
            account,
            channel.as_str(),
            target,
            &code_hash,
            now,
            now + cfg.otp_ttl.as_secs_i64(),
        )
        .await?;
    let minutes = (cfg.otp_ttl.as_secs_i64() + 59) / 60;
    let text = format!(
        "Your Portcullis code is {}. It expires in {minutes} minute(s). Never share it.",
        code.expose()
    );
    match channel {
        Channel::Sms => state.sms.send(destination, &text).await.map_err(|e| {
            tracing::warn!(error = %e, "SMS delivery failed");
            metrics::counter!("portcullis_factor_events_total", "kind" => Channel::Sms.as_str(), "event" => "send_failed").increment(1);
            ServiceError::Upstream("the text message could not be sent; try again later")
        })?,
        Channel::Email => mail::enqueue(state, &Mail { to: destination.to_owned(), subject: "Your Portcullis code".into(), body: format!("{text}\n"), link: None }).await?,
    }
    metrics::counter!("portcullis_factor_events_total", "kind" => channel.as_str(), "event" => "code_sent")
        .increment(1);
    audit::record(
        state,
        "factor.code_sent",
        Some(account.to_string()),
        Some(target.to_owned()),
        Some(client),
        json!({"channel": channel.as_str()}),
    )
    .await?;
    Ok(cfg.otp_ttl.as_secs_i64())
}

/// Checks a code typed for `target`; true exactly once for the right code.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %account, otp.channel = %channel))]
pub async fn check(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    target: &str,
    code: &str,
) -> Result<bool, ServiceError> {
    let Some(code) = OtpCode::parse(code) else {
        return Ok(false);
    };
    let code_hash = hash(state, account, channel, target, &code);
    let outcome = state
        .store
        .otp
        .check(
            account,
            channel.as_str(),
            target,
            &code_hash,
            state.now(),
            state.config.mfa.otp_max_attempts,
        )
        .await?;
    let event = match outcome {
        OtpOutcome::Accepted => "used",
        OtpOutcome::Wrong => "failed",
        OtpOutcome::NoLiveCode => "no_live_code",
    };
    metrics::counter!("portcullis_factor_events_total", "kind" => channel.as_str(), "event" => event)
        .increment(1);
    Ok(outcome == OtpOutcome::Accepted)
}
