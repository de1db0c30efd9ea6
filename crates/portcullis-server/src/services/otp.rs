//! Sending and checking one-time secrets by e-mail or SMS: six-digit codes, and the dot
//! patterns of a pattern OTP.
//!
//! A secret is bound to its channel and to what it proves (the factor being enrolled or the
//! login challenge answering it), so a secret sent for one purpose never answers another. A
//! pattern and a code sent for the same challenge are kept apart (a pattern's row is scoped
//! `pattern:<target>`), so sending one never ends the other, and each has its own attempts.
//! Both go through the same store rows: only a keyed hash is kept, a new send ends the live
//! one, and every check takes an attempt atomically before it compares.

use portcullis_core::factor::FactorKind;
use portcullis_core::factor::otp::{Channel, OtpCode};
use portcullis_core::factor::pattern::{Pattern, PatternGrid};
use portcullis_core::ids::AccountId;
use portcullis_store::model::OtpOutcome;
use serde_json::json;
use std::borrow::Cow;
use zeroize::Zeroizing;

use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::audit;
use crate::services::cooldown::{self, Message};
use crate::services::mail::{self, Mail};
use crate::state::AppState;

/// Window of the resend bound (per account, and per recipient in `cooldown`).
pub(crate) const SEND_WINDOW_SECS: i64 = 900;

/// What a message carries: a six-digit code, or a pattern of dots on a grid.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Form {
    /// A six-digit code ([`OtpCode`]).
    Code,
    /// A pattern of distinct dots ([`Pattern`]).
    Pattern(PatternGrid),
}

impl Form {
    /// The stored row's target: a pattern's is apart from a code's for the same purpose.
    fn scope(self, target: &str) -> Cow<'_, str> {
        match self {
            Form::Code => Cow::Borrowed(target),
            Form::Pattern(_) => Cow::Owned(format!("pattern:{target}")),
        }
    }

    /// The metric label of its events.
    fn label(self, channel: Channel) -> &'static str {
        match self {
            Form::Code => channel.as_str(),
            Form::Pattern(_) => FactorKind::PatternOtp.as_str(),
        }
    }
}

fn hash(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    scope: &str,
    secret: &str,
) -> Vec<u8> {
    state
        .keyring()
        .blind_index("otp", &format!("{account}:{channel}:{scope}:{secret}"))
        .to_vec()
}

/// A fresh secret of `form` and the message that carries it (subject, text).
fn compose(
    state: &AppState,
    form: Form,
    channel: Channel,
) -> (Zeroizing<String>, &'static str, String) {
    let minutes = (state.config.mfa.otp_ttl.as_secs_i64() + 59) / 60;
    match form {
        Form::Code => {
            let code = OtpCode::generate(state.entropy.as_ref());
            let text = format!(
                "Your Portcullis code is {}. It expires in {minutes} minute(s). Never share it.",
                code.expose()
            );
            (
                Zeroizing::new(code.expose().to_owned()),
                "Your Portcullis code",
                text,
            )
        }
        Form::Pattern(grid) => {
            let pattern = Pattern::generate(grid, state.entropy.as_ref());
            let canonical = pattern.canonical();
            let (n, cells) = (grid.size(), grid.cells());
            let text = match channel {
                Channel::Sms => format!(
                    "Your Portcullis pattern: {} - draw these dots in this order on the {n}x{n} pad (dots 1-{cells}, row by row from the top left). Expires in {minutes} min. Never share it.",
                    canonical.as_str()
                ),
                Channel::Email => format!(
                    "Your Portcullis pattern: {}\n\nDraw these {k} dots in this order on the {n}x{n} pattern pad. The dots are numbered 1 to {cells} row by row, left to right, from the top-left corner:\n\n{layout}\nIt expires in {minutes} minute(s). Never share it.",
                    canonical.as_str(),
                    k = grid.dots(),
                    layout = numbering(grid),
                ),
            };
            (canonical, "Your Portcullis pattern", text)
        }
    }
}

/// The grid's numbering as text, one row per line (what the mail shows).
fn numbering(grid: PatternGrid) -> String {
    let n = grid.size();
    let mut out = String::new();
    for row in 0..n {
        let cells: Vec<String> = (1..=n).map(|c| format!("{:>3}", row * n + c)).collect();
        out.push_str(&cells.concat());
        out.push('\n');
    }
    out
}

/// Sends a fresh code for `target` to `destination` (a phone number or an address).
///
/// # Errors
/// Too many codes sent lately, or delivery failed.
pub async fn send(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    target: &str,
    destination: &str,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    deliver(
        state,
        account,
        channel,
        Form::Code,
        target,
        destination,
        client,
    )
    .await
}

/// Sends a fresh secret of `form` for `target` to `destination`, ending the live one of the
/// same form; returns its lifetime in seconds. The send bound counts every message on the
/// channel, codes and patterns alike.
///
/// # Errors
/// Too many messages sent lately, or delivery failed.
#[tracing::instrument(skip_all, fields(account.id = %account, otp.channel = %channel))]
pub(crate) async fn deliver(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    form: Form,
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
    let (secret, subject, text) = compose(state, form, channel);
    let id = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let scope = form.scope(target);
    let code_hash = hash(state, account, channel, &scope, &secret);
    state
        .store
        .otp
        .issue(
            &id,
            account,
            channel.as_str(),
            &scope,
            &code_hash,
            now,
            now + cfg.otp_ttl.as_secs_i64(),
        )
        .await?;
    match channel {
        Channel::Sms => state.sms.send(destination, &text).await.map_err(|e| {
            tracing::warn!(error = %e, "SMS delivery failed");
            metrics::counter!("portcullis_factor_events_total", "kind" => Channel::Sms.as_str(), "event" => "send_failed").increment(1);
            ServiceError::Upstream("the text message could not be sent; try again later")
        })?,
        Channel::Email => mail::enqueue(state, &Mail { to: destination.to_owned(), subject: subject.into(), body: format!("{text}\n"), link: None }).await?,
    }
    metrics::counter!("portcullis_factor_events_total", "kind" => form.label(channel), "event" => "code_sent")
        .increment(1);
    audit::record(
        state,
        "factor.code_sent",
        Some(account.to_string()),
        Some(target.to_owned()),
        Some(client),
        json!({"channel": channel.as_str(), "form": match form { Form::Code => "code", Form::Pattern(_) => "pattern" }}),
    )
    .await?;
    Ok(cfg.otp_ttl.as_secs_i64())
}

/// Checks a code typed for `target`; true exactly once for the right code.
///
/// # Errors
/// Storage failure.
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
    compare(state, account, channel, Form::Code, target, code.expose()).await
}

/// Checks a pattern drawn for `target` on `grid`; true exactly once for the right pattern,
/// drawn in its order.
///
/// # Errors
/// Storage failure.
pub(crate) async fn check_pattern(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    grid: PatternGrid,
    target: &str,
    dots: &[u32],
) -> Result<bool, ServiceError> {
    let Some(pattern) = Pattern::from_dots(grid, dots) else {
        return Ok(false);
    };
    let canonical = pattern.canonical();
    compare(
        state,
        account,
        channel,
        Form::Pattern(grid),
        target,
        &canonical,
    )
    .await
}

/// Takes an attempt of the live secret of `form` for `target` and compares `secret` with it.
#[tracing::instrument(skip_all, fields(account.id = %account, otp.channel = %channel))]
async fn compare(
    state: &AppState,
    account: AccountId,
    channel: Channel,
    form: Form,
    target: &str,
    secret: &str,
) -> Result<bool, ServiceError> {
    let scope = form.scope(target);
    let code_hash = hash(state, account, channel, &scope, secret);
    let outcome = state
        .store
        .otp
        .check(
            account,
            channel.as_str(),
            &scope,
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
    metrics::counter!("portcullis_factor_events_total", "kind" => form.label(channel), "event" => event)
        .increment(1);
    Ok(outcome == OtpOutcome::Accepted)
}
