//! Pattern OTP: the server draws a pattern of distinct dots (`[pattern_otp]`'s grid, core's
//! `factor::pattern`), sends it as numbers over the enrolment's channel, and the person draws
//! it back in order. Sending, hashing, single use, expiry and the attempt bound are the sent
//! codes' (`services::otp`); this file knows only where a factor's patterns go.
//!
//! The enrolment chooses the channel, as the code factors do: the account's own e-mail
//! address (read when a pattern is sent, like `email_otp`), or a phone number given at
//! enrolment and proven, like the SMS factor's, by the first pattern sent to it coming back.
//! Which one is sealed with the account's data key as the factor's secret (`email`, or
//! `sms:+14155552671`).

use portcullis_core::contact::PhoneE164;
use portcullis_core::factor::FactorKind;
use portcullis_core::factor::otp::Channel;
use portcullis_core::factor::pattern::{PatternGrid, read_dots};
use portcullis_core::ids::AccountId;
use portcullis_core::login::management::FactorChange;
use portcullis_store::model::FactorRecord;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self, NewFactor};
use crate::services::factors::{
    FactorView, authorise, check_label, confirmed_of, secret_aad, view,
};
use crate::services::otp::{self, Form};
use crate::services::{accounts, factors::email_otp};
use crate::state::AppState;

/// Where a pattern OTP's patterns go, as its enrolment asks.
pub enum PatternChannel<'a> {
    /// The account's e-mail address.
    Email,
    /// This phone number (any form `PhoneE164::parse` takes).
    Sms(&'a str),
}

/// The parsed destination, as sealed with the factor.
enum Route {
    Email,
    Sms(PhoneE164),
}

impl Route {
    fn sealed(&self) -> Vec<u8> {
        match self {
            Route::Email => b"email".to_vec(),
            Route::Sms(phone) => format!("sms:{}", phone.as_str()).into_bytes(),
        }
    }

    fn channel(&self) -> Channel {
        match self {
            Route::Email => Channel::Email,
            Route::Sms(_) => Channel::Sms,
        }
    }
}

/// The configured grid (validated at start-up).
fn grid(state: &AppState) -> Result<PatternGrid, ServiceError> {
    state
        .config
        .pattern_otp
        .grid()
        .map_err(|e| ServiceError::unexpected(format!("pattern_otp: {e}")))
}

/// `POST /v1/me/factors/pattern`: a pattern OTP over `channel`; the first pattern is sent at
/// once, and drawing it back confirms the factor (and, for SMS, the number).
///
/// # Errors
/// A stale session, an invalid number, the send bound, or a failed delivery.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_pattern(
    state: &AppState,
    auth: &AuthSession,
    channel: PatternChannel<'_>,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    let (route, default_label) = match channel {
        PatternChannel::Email => (Route::Email, "Pattern by e-mail"),
        PatternChannel::Sms(phone) => (Route::Sms(PhoneE164::parse(phone)?), "Pattern by text"),
    };
    let label = check_label(label, default_label)?;
    // What the input says is checked first: no step-up only to hear the input was wrong.
    authorise(state, auth, FactorChange::Enrol).await?;
    let sealed = route.sealed();
    let new = NewFactor {
        kind: FactorKind::PatternOtp,
        label,
        secret: Some(&sealed),
    };
    let (record, _) = enrolment::enrol(state, auth.account, new, client, async |f| {
        deliver(state, auth.account, &route, &f.id, client).await
    })
    .await?;
    Ok(view(&record))
}

async fn deliver(
    state: &AppState,
    account: AccountId,
    route: &Route,
    target: &str,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    let destination = match route {
        Route::Email => email_otp::address(state, account).await?,
        Route::Sms(phone) => phone.as_str().to_owned(),
    };
    let form = Form::Pattern(grid(state)?);
    otp::deliver(
        state,
        account,
        route.channel(),
        form,
        target,
        &destination,
        client,
    )
    .await
}

/// Where the factor `f`'s patterns go.
async fn route(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
) -> Result<Route, ServiceError> {
    let key = accounts::data_key(state, account).await?;
    let blob = f
        .secret_ct
        .as_deref()
        .ok_or_else(|| ServiceError::unexpected("pattern OTP factor without a channel"))?;
    let opened = key.decrypt(blob, &secret_aad(&f.id))?;
    match opened.as_slice() {
        b"email" => Ok(Route::Email),
        other => other
            .strip_prefix(b"sms:")
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|p| PhoneE164::parse(p).ok())
            .map(Route::Sms)
            .ok_or_else(|| ServiceError::unexpected("pattern OTP factor with an unknown channel")),
    }
}

async fn check(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    target: &str,
    dots: &[u32],
) -> Result<bool, ServiceError> {
    let channel = route(state, account, f).await?.channel();
    otp::check_pattern(state, account, channel, grid(state)?, target, dots).await
}

/// The first pattern, drawn back for the pending factor `f` (its dots as text, `3-7-12-…`).
pub(super) async fn first_pattern(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    drawn: &str,
) -> Result<bool, ServiceError> {
    match read_dots(drawn) {
        Some(dots) => check(state, account, f, &f.id, &dots).await,
        None => Ok(false),
    }
}

/// Sends a login or step-up pattern for the challenge `target` over the channel of the
/// account's (first) confirmed pattern OTP.
pub(super) async fn send_challenge(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    target: &str,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    let route = route(state, account, f).await?;
    deliver(state, account, &route, target, client).await
}

/// Checks a pattern drawn for the challenge `target`; false without a confirmed pattern OTP.
///
/// # Errors
/// Storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn check_pattern(
    state: &AppState,
    account: AccountId,
    target: &str,
    dots: &[u32],
) -> Result<bool, ServiceError> {
    let factors = state.store.factors.list(account).await?;
    let first = confirmed_of(&factors, FactorKind::PatternOtp).next();
    match first {
        Some(f) => check(state, account, f, target, dots).await,
        None => Ok(false),
    }
}
