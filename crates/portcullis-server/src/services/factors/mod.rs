//! Second factors of an account: what every kind shares here and in `enrolment`, and one
//! small file per kind for what only it does (generating a TOTP secret, texting a code…).
//!
//! Every enrolment takes the same path: a recent authentication at the account's level
//! ([`authorise`], core's `login::management` rule), a label, a pending factor stored and
//! audited (`enrolment::enrol`), then a first proof that confirms it; removal is shared too. The matches on [`FactorKind`] below are exhaustive on purpose: a new kind does
//! not compile until it says how it is confirmed and how its code is sent.
//!
//! Secrets are sealed with the account's data key, so deleting the account shreds them too;
//! recovery codes are kept only as keyed hashes (the keyring's blind index), which an
//! attacker holding a copy of the database cannot test guesses against.

mod email_otp;
pub(crate) mod enrolment;
mod gesture;
mod image;
mod passcode;
mod pattern_otp;
mod recovery;
mod sms;
pub(crate) mod totp;
pub(crate) mod wallet;

use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use portcullis_core::login::management::{self, FactorChange, SessionAuth};
use portcullis_core::login::policy;
use portcullis_core::login::{Assurance, ChallengeError};
use portcullis_store::model::FactorRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthSession;
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::otp;
use crate::state::AppState;

pub use email_otp::enrol_email;
pub use enrolment::remove;
pub use gesture::{check_gesture, enrol_gesture};
pub use image::{check_image, enrol_image};
pub use pattern_otp::{PatternChannel, check_pattern, enrol_pattern};
pub use recovery::{regenerate_recovery_codes, use_recovery_code};
pub use sms::enrol_sms;
pub use totp::{TotpEnrolment, check_totp, enrol_totp};
pub use wallet::{WalletEnrolment, enrol_wallet};

/// A factor as its owner sees it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorView {
    /// Id.
    pub id: String,
    /// `totp`, `passkey`, `sms`, `email_otp`, `pattern_otp`, `image`, `gesture`.
    #[schema(value_type = String)]
    pub kind: FactorKind,
    /// Name given at enrolment.
    pub label: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Whether a first code confirmed it.
    pub confirmed: bool,
    /// Last successful use.
    pub last_used_at: Option<i64>,
}

/// The account's factors and how many recovery codes remain.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorList {
    /// Enrolled factors, the password aside.
    pub factors: Vec<FactorView>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// Refuses `change` unless the session authenticated recently enough and at the account's
/// own level (core's [`management::authorise`]): every change to a factor goes through here,
/// so the rule is enforced in one place. The account has a second factor when it has one its
/// roles may use at login, exactly what a step-up would then ask for.
///
/// # Errors
/// [`ServiceError::StepUpRequired`] with the `acr` and age a step-up must reach; storage
/// failure.
pub(crate) async fn authorise(
    state: &AppState,
    auth: &AuthSession,
    change: FactorChange,
) -> Result<(), ServiceError> {
    let enrolled = second_factors(state, auth.account).await?;
    let usable = policy::allowed_second_factors(
        &state.config.login.mfa_factors,
        &auth.claims.roles,
        enrolled,
    );
    let session = SessionAuth {
        acr: &auth.claims.acr,
        auth_time: auth.claims.auth_time,
    };
    let fresh_auth = state.config.mfa.fresh_auth.as_secs_i64();
    // A gesture beside the password is knowledge twice: only a second kind of factor
    // raises the level a change needs (core's `account_level`).
    let has_second = policy::account_level(&usable) == Assurance::Aal2;
    management::authorise(change, has_second, session, fresh_auth, state.now()).map_err(
        |demand| ServiceError::StepUpRequired {
            detail: "this change needs a recent authentication at the account's level: step up first",
            acr: Some(demand.acr.acr()),
            max_age: demand.max_age,
        },
    )
}

/// A factor's label as given (or `default`): 1 to 64 printable characters.
///
/// # Errors
/// [`Invalid::Label`] otherwise.
pub(crate) fn check_label(label: Option<String>, default: &str) -> Result<String, ServiceError> {
    let label = label.unwrap_or_else(|| default.to_owned());
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            Invalid::Label,
            "the label must have 1 to 64 printable characters",
        ));
    }
    Ok(label.to_owned())
}

/// Associated data binding a sealed factor secret to its factor.
pub(crate) fn secret_aad(factor_id: &str) -> Vec<u8> {
    format!("factor:{factor_id}:secret").into_bytes()
}

/// How the owner sees `f`.
pub(crate) fn view(f: &FactorRecord) -> FactorView {
    FactorView {
        id: f.id.clone(),
        kind: f.kind,
        label: f.label.clone(),
        created_at: f.created_at,
        confirmed: f.confirmed_at.is_some(),
        last_used_at: f.last_used_at,
    }
}

/// The account's confirmed factors of `kind`.
pub(crate) fn confirmed_of(
    factors: &[FactorRecord],
    kind: FactorKind,
) -> impl Iterator<Item = &FactorRecord> {
    factors
        .iter()
        .filter(move |f| f.kind == kind && f.confirmed_at.is_some())
}

/// `GET /v1/me/factors`.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn list(state: &AppState, account: AccountId) -> Result<FactorList, ServiceError> {
    let factors = state.store.factors.list(account).await?;
    Ok(FactorList {
        factors: factors.iter().map(view).collect(),
        recovery_codes_left: state.store.factors.recovery_codes_left(account).await?,
    })
}

/// The second factors a login or step-up of `account` can be answered with, in the order
/// logins offer them.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn second_factors(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<FactorKind>, ServiceError> {
    let factors = state.store.factors.list(account).await?;
    let confirmed: Vec<FactorKind> = factors
        .iter()
        .filter(|f| f.confirmed_at.is_some())
        .map(|f| f.kind)
        .collect();
    let codes_left = state.store.factors.recovery_codes_left(account).await?;
    Ok(policy::enrolled_second_factors(&confirmed, codes_left))
}

/// `POST /v1/me/factors/{id}/confirm`: the first code proves the app holds the secret, or
/// that the code sent reached its owner; for a pattern OTP, `code` is the pattern drawn
/// back, its dots as text (`3-7-12-1-5-9`).
///
/// # Errors
/// A session below the account's level, an unknown factor, or a wrong code.
#[tracing::instrument(skip_all, fields(account.id = %auth.account, factor.id = %id))]
pub async fn confirm(
    state: &AppState,
    auth: &AuthSession,
    id: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    authorise(state, auth, FactorChange::Confirm).await?;
    let account = auth.account;
    let factors = state.store.factors.list(account).await?;
    let f = factors
        .iter()
        .find(|f| f.id == id && f.confirmed_at.is_none())
        .ok_or(ServiceError::NotFound)?;
    let now = state.now();
    let proven = match f.kind {
        FactorKind::Totp => totp::first_step(state, account, f, code, now).await?,
        FactorKind::Sms | FactorKind::EmailOtp => match f.kind.channel() {
            Some(channel) => otp::check(state, account, channel, id, code)
                .await?
                .then_some(0),
            None => None,
        },
        FactorKind::PatternOtp => pattern_otp::first_pattern(state, account, f, code)
            .await?
            .then_some(0),
        // A passkey is confirmed by its attestation (`passkeys::finish_registration`);
        // passwords and recovery codes are never pending factors.
        FactorKind::Passkey | FactorKind::Password | FactorKind::RecoveryCode => None,
        // An image passcode is confirmed by the upload that enrols it.
        FactorKind::Image => None,
        // A gesture passcode is confirmed by the drawing that enrols it.
        FactorKind::Gesture => None,
        // A wallet is confirmed by its signature over the message it was given, which
        // also mints its AuthNFT.
        FactorKind::Wallet => {
            wallet::confirm(state, account, f, code, client).await?;
            return state
                .store
                .factors
                .list(account)
                .await?
                .iter()
                .find(|f| f.id == id)
                .map(view)
                .ok_or(ServiceError::NotFound);
        }
    };
    let Some(step) = proven else {
        enrolment::refused(state, account, f, client).await?;
        return Err(ServiceError::invalid(
            Invalid::Code,
            "the code is not valid, expired or used up: check it, or ask for a new one",
        ));
    };
    enrolment::confirmed(state, account, f, enrolment::Proof::Step(step, now), client).await?;
    let confirmed = state.store.factors.list(account).await?;
    confirmed
        .iter()
        .find(|f| f.id == id)
        .map(view)
        .ok_or(ServiceError::NotFound)
}

/// Sends a login or step-up code for `factor` (SMS or e-mail), or a pattern for a pattern
/// OTP; `target` is the challenge.
///
/// # Errors
/// No such confirmed factor, the send bound, or a failed delivery.
#[tracing::instrument(skip_all, fields(account.id = %account, factor.kind = %factor))]
pub async fn send_challenge_code(
    state: &AppState,
    account: AccountId,
    factor: FactorKind,
    target: &str,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    let not_sent = || {
        ServiceError::invalid(
            Invalid::NotASentCode,
            "only sms, email_otp and pattern_otp secrets are sent",
        )
    };
    if !factor.is_sent() {
        return Err(not_sent());
    }
    let factors = state.store.factors.list(account).await?;
    let f = confirmed_of(&factors, factor)
        .next()
        .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?;
    let destination = match factor {
        FactorKind::Sms => sms::phone_number(state, account, f).await?,
        FactorKind::EmailOtp => email_otp::address(state, account).await?,
        FactorKind::PatternOtp => {
            return pattern_otp::send_challenge(state, account, f, target, client).await;
        }
        FactorKind::Password
        | FactorKind::Totp
        | FactorKind::RecoveryCode
        | FactorKind::Passkey
        | FactorKind::Image
        | FactorKind::Gesture
        | FactorKind::Wallet => {
            return Err(not_sent());
        }
    };
    let channel = factor.channel().ok_or_else(not_sent)?;
    otp::send(state, account, channel, target, &destination, client).await
}
