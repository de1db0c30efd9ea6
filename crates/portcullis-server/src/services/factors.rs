//! Second factors of an account: enrolment and confirmation of TOTP, recovery codes, and
//! checking either during a login or step-up.
//!
//! TOTP secrets are sealed with the account's data key, so deleting the account shreds them
//! too; recovery codes are kept only as keyed hashes (the keyring's blind index), which an
//! attacker holding a copy of the database cannot test guesses against.

use base64::Engine as _;
use portcullis_core::factor::recovery::{self, RecoveryCode};
use portcullis_core::factor::totp::{TotpError, TotpSecret};
use portcullis_core::ids::AccountId;
use portcullis_core::login::FactorKind;
use portcullis_store::model::FactorRecord;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::config::DurationExt as _;
use crate::error::ApiError;
use crate::extract::{AuthSession, ClientInfo};
use crate::services::mail::{self, Mail};
use crate::services::{accounts, audit, otp};
use crate::state::AppState;

const TOTP: &str = "totp";
const SMS: &str = "sms";
const EMAIL_OTP: &str = "email_otp";
const RECOVERY_INDEX: &str = "recovery-code";

/// A factor as its owner sees it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorView {
    /// Id.
    pub id: String,
    /// `totp`.
    pub kind: String,
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

/// What enrolling a TOTP authenticator returns: shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Factor id; confirm it with a first code.
    pub id: String,
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// The `otpauth://totp/…` URI that apps scan.
    pub otpauth_uri: String,
    /// QR code of the URI, SVG document.
    pub qr_svg: String,
    /// QR code of the URI, `data:image/png;base64,…`.
    pub qr_png: String,
}

/// Refuses when the session authenticated longer ago than `mfa.fresh_auth_secs`.
///
/// # Errors
/// [`ApiError::StepUpRequired`] with the allowed age.
pub fn require_fresh(state: &AppState, auth: &AuthSession) -> Result<(), ApiError> {
    let max_age = state.config.mfa.fresh_auth.as_secs_i64();
    if auth.claims.auth_time + max_age >= state.now() {
        Ok(())
    } else {
        Err(ApiError::StepUpRequired {
            detail: "this action needs a recent authentication: step up first",
            max_age,
        })
    }
}

/// Stores a new unconfirmed factor of `kind` (replacing an abandoned one of the same kind),
/// its secret sealed with the account's data key.
///
/// # Errors
/// Storage or keyring failure.
pub(crate) async fn insert_pending(
    state: &AppState,
    account: AccountId,
    kind: &str,
    label: String,
    secret: Option<&[u8]>,
) -> Result<FactorRecord, ApiError> {
    let now = state.now();
    // An abandoned enrolment is replaced, not kept forever.
    state
        .store
        .factors
        .delete_unconfirmed(account, kind, now + 1)
        .await?;
    let id = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let secret_ct = match secret {
        Some(bytes) => Some(
            accounts::data_key(state, account)
                .await?
                .encrypt(bytes, &secret_aad(&id))?,
        ),
        None => None,
    };
    let record = FactorRecord {
        id,
        account_id: account,
        kind: kind.into(),
        label,
        secret_ct,
        last_step: None,
        created_at: now,
        confirmed_at: None,
        last_used_at: None,
    };
    state.store.factors.insert(&record).await?;
    Ok(record)
}

/// Counts and audits the end of an enrolment: confirmed, or a failed confirmation.
///
/// # Errors
/// The audit log could not be written.
pub(crate) async fn record_enrolment(
    state: &AppState,
    account: AccountId,
    id: &str,
    kind: &str,
    confirmed: bool,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let (metric, event) = if confirmed {
        ("enrolled", "factor.enrolled")
    } else {
        ("confirm_failed", "factor.confirm_failed")
    };
    metrics::counter!("portcullis_factor_events_total", "kind" => kind.to_owned(), "event" => metric)
        .increment(1);
    audit::record(
        state,
        event,
        Some(account.to_string()),
        Some(id.to_owned()),
        Some(client),
        json!({ "kind": kind }),
    )
    .await
}

/// Associated data binding a sealed factor secret to its factor.
pub(crate) fn secret_aad(factor_id: &str) -> Vec<u8> {
    format!("factor:{factor_id}:secret").into_bytes()
}

fn view(f: &FactorRecord) -> FactorView {
    FactorView {
        id: f.id.clone(),
        kind: f.kind.clone(),
        label: f.label.clone(),
        created_at: f.created_at,
        confirmed: f.confirmed_at.is_some(),
        last_used_at: f.last_used_at,
    }
}

/// `GET /v1/me/factors`.
///
/// # Errors
/// Storage failure.
pub async fn list(state: &AppState, account: AccountId) -> Result<FactorList, ApiError> {
    let factors = state.store.factors.list(account).await?;
    Ok(FactorList {
        factors: factors.iter().map(view).collect(),
        recovery_codes_left: state.store.factors.recovery_codes_left(account).await?,
    })
}

/// The second factors a login or step-up of `account` can be answered with.
///
/// # Errors
/// Storage failure.
pub async fn second_factors(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<FactorKind>, ApiError> {
    let mut kinds = Vec::new();
    let factors = state.store.factors.list(account).await?;
    if factors
        .iter()
        .any(|f| f.kind == TOTP && f.confirmed_at.is_some())
    {
        kinds.push(FactorKind::Totp);
    }
    let has = |kind: &str| {
        factors
            .iter()
            .any(|f| f.kind == kind && f.confirmed_at.is_some())
    };
    if has(crate::services::passkeys::PASSKEY) {
        kinds.push(FactorKind::Passkey);
    }
    if factors
        .iter()
        .any(|f| f.kind == SMS && f.confirmed_at.is_some())
    {
        kinds.push(FactorKind::Sms);
    }
    if factors
        .iter()
        .any(|f| f.kind == EMAIL_OTP && f.confirmed_at.is_some())
    {
        kinds.push(FactorKind::EmailOtp);
    }
    if state.store.factors.recovery_codes_left(account).await? > 0 {
        kinds.push(FactorKind::RecoveryCode);
    }
    Ok(kinds)
}

/// `POST /v1/me/factors/totp`: a new, unconfirmed authenticator.
///
/// # Errors
/// A stale session (step up first), storage or keyring failure.
pub async fn enrol_totp(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<TotpEnrolment, ApiError> {
    require_fresh(state, auth)?;
    let label = check_label(label, "Authenticator app")?;
    let account = accounts::live_account(state, auth.account).await?;
    let email = accounts::profile(state, &account).await?.email;
    let secret = TotpSecret::generate(state.entropy.as_ref());
    let record = insert_pending(state, auth.account, TOTP, label, Some(secret.as_bytes())).await?;
    let id = record.id.clone();
    let uri = secret
        .otpauth_uri(&state.config.mfa.totp_issuer, &email)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let qr_svg = crate::qr::svg(&uri).map_err(|e| ApiError::Internal(e.to_string()))?;
    let png = crate::qr::png(&uri).map_err(|e| ApiError::Internal(e.to_string()))?;
    audit::record(
        state,
        "factor.enrolment_started",
        Some(auth.account.to_string()),
        Some(id.clone()),
        Some(client),
        json!({"kind": TOTP}),
    )
    .await?;
    Ok(TotpEnrolment {
        id,
        secret: secret.to_base32(),
        otpauth_uri: uri,
        qr_svg,
        qr_png: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ),
    })
}

async fn open_secret(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
) -> Result<TotpSecret, ApiError> {
    let key = accounts::data_key(state, account).await?;
    let blob = f
        .secret_ct
        .as_deref()
        .ok_or_else(|| ApiError::Internal("TOTP factor without secret".into()))?;
    let bytes = key.decrypt(blob, &secret_aad(&f.id))?;
    TotpSecret::from_bytes(bytes).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `POST /v1/me/factors/{id}/confirm`: the first code proves the app holds the secret.
///
/// # Errors
/// Unknown factor, or a wrong code.
pub async fn confirm(
    state: &AppState,
    account: AccountId,
    id: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<FactorView, ApiError> {
    let factors = state.store.factors.list(account).await?;
    let f = factors
        .iter()
        .find(|f| f.id == id && f.confirmed_at.is_none())
        .ok_or(ApiError::NotFound)?;
    let kind = f.kind.clone();
    let now = state.now();
    let proven = match kind.as_str() {
        TOTP => open_secret(state, account, f)
            .await?
            .verify(code, now, None)
            .ok(),
        SMS => otp::check(state, account, otp::SMS, id, code)
            .await?
            .then_some(0),
        EMAIL_OTP => otp::check(state, account, otp::EMAIL, id, code)
            .await?
            .then_some(0),
        _ => None,
    };
    let step = match proven {
        Some(step) => step,
        None => {
            record_enrolment(state, account, id, &kind, false, client).await?;
            return Err(ApiError::bad_request(
                "invalid-code",
                "the code is not valid, expired or used up: check it, or ask for a new one",
            ));
        }
    };
    if !state.store.factors.confirm(id, account, step, now).await? {
        return Err(ApiError::Conflict("the factor was confirmed concurrently"));
    }
    record_enrolment(state, account, id, &kind, true, client).await?;
    let confirmed = state.store.factors.list(account).await?;
    confirmed
        .iter()
        .find(|f| f.id == id)
        .map(view)
        .ok_or(ApiError::NotFound)
}

/// `DELETE /v1/me/factors/{id}`: needs a fresh authentication.
///
/// # Errors
/// A stale session, or an unknown factor.
pub async fn remove(
    state: &AppState,
    auth: &AuthSession,
    id: &str,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    require_fresh(state, auth)?;
    if !state.store.factors.delete(id, auth.account).await? {
        return Err(ApiError::NotFound);
    }
    metrics::counter!("portcullis_factor_events_total", "kind" => TOTP, "event" => "removed")
        .increment(1);
    audit::record(
        state,
        "factor.removed",
        Some(auth.account.to_string()),
        Some(id.to_owned()),
        Some(client),
        json!({}),
    )
    .await
}

/// `POST /v1/me/recovery-codes`: a new set of ten codes (the old set stops working).
///
/// # Errors
/// A stale session, storage failure.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    auth: &AuthSession,
    client: &ClientInfo,
) -> Result<Vec<String>, ApiError> {
    require_fresh(state, auth)?;
    let codes = recovery::generate_set(state.entropy.as_ref());
    let keyring = state.keyring();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| recovery_hash(&keyring, auth.account, c))
        .collect();
    state
        .store
        .factors
        .replace_recovery_codes(auth.account, &hashes, state.now())
        .await?;
    audit::record(
        state,
        "factor.recovery_codes_generated",
        Some(auth.account.to_string()),
        None,
        Some(client),
        json!({"count": codes.len()}),
    )
    .await?;
    Ok(codes.iter().map(RecoveryCode::display).collect())
}

fn recovery_hash(
    keyring: &portcullis_store::keyring::Keyring,
    account: AccountId,
    code: &RecoveryCode,
) -> Vec<u8> {
    keyring
        .blind_index(RECOVERY_INDEX, &format!("{account}:{}", code.normalised()))
        .to_vec()
}

/// Checks a TOTP code against the account's confirmed authenticators, spending its time
/// step. Returns whether it was accepted.
///
/// # Errors
/// Storage or keyring failure.
pub async fn check_totp(
    state: &AppState,
    account: AccountId,
    code: &str,
) -> Result<bool, ApiError> {
    let now = state.now();
    for f in state.store.factors.list(account).await? {
        if f.kind != TOTP || f.confirmed_at.is_none() {
            continue;
        }
        let secret = open_secret(state, account, &f).await?;
        match secret.verify(code, now, f.last_step) {
            Ok(step) => {
                let spent = state.store.factors.advance_step(&f.id, step, now).await?;
                let event = if spent { "used" } else { "replayed" };
                metrics::counter!("portcullis_factor_events_total", "kind" => TOTP, "event" => event).increment(1);
                return Ok(spent);
            }
            Err(TotpError::Replayed) => {
                metrics::counter!("portcullis_factor_events_total", "kind" => TOTP, "event" => "replayed").increment(1);
                return Ok(false);
            }
            Err(_) => {}
        }
    }
    metrics::counter!("portcullis_factor_events_total", "kind" => TOTP, "event" => "failed")
        .increment(1);
    Ok(false)
}

/// Spends a recovery code; on success the owner is told by mail and the use is audited.
///
/// # Errors
/// Storage failure.
pub async fn use_recovery_code(
    state: &AppState,
    account: AccountId,
    code: &str,
    client: &ClientInfo,
) -> Result<bool, ApiError> {
    let Some(code) = RecoveryCode::parse(code) else {
        return Ok(false);
    };
    let hash = recovery_hash(&state.keyring(), account, &code);
    if !state
        .store
        .factors
        .use_recovery_code(account, &hash, state.now())
        .await?
    {
        metrics::counter!("portcullis_factor_events_total", "kind" => "recovery_code", "event" => "failed").increment(1);
        return Ok(false);
    }
    let left = state.store.factors.recovery_codes_left(account).await?;
    metrics::counter!("portcullis_factor_events_total", "kind" => "recovery_code", "event" => "used").increment(1);
    audit::record(
        state,
        "factor.recovery_code_used",
        Some(account.to_string()),
        None,
        Some(client),
        json!({"codes_left": left}),
    )
    .await?;
    let record = accounts::live_account(state, account).await?;
    let email = accounts::profile(state, &record).await?.email;
    mail::enqueue(state, &Mail {
        to: email,
        subject: "A recovery code was used".into(),
        body: format!(
            "One of your Portcullis recovery codes was just used to sign in. {left} code(s) remain.\n\nIf this was not you, change your password and generate new recovery codes now.\n"
        ),
        link: None,
    })
    .await?;
    Ok(true)
}

/// A factor's label as given (or `default`): 1 to 64 printable characters.
///
/// # Errors
/// [`ApiError::BadRequest`] otherwise.
pub(crate) fn check_label(label: Option<String>, default: &str) -> Result<String, ApiError> {
    let label = label.unwrap_or_else(|| default.to_owned());
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid-label",
            "the label must have 1 to 64 printable characters",
        ));
    }
    Ok(label.to_owned())
}

/// `POST /v1/me/factors/sms`: registers a phone number and texts it a code; confirming
/// the code verifies the number and makes it a factor.
///
/// # Errors
/// A stale session, an invalid number, the send bound, or a failed delivery.
pub async fn enrol_sms(
    state: &AppState,
    auth: &AuthSession,
    phone: &str,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<FactorView, ApiError> {
    require_fresh(state, auth)?;
    let phone = portcullis_core::contact::PhoneE164::parse(phone)?;
    let label = check_label(label, "Phone")?;
    let record = insert_pending(
        state,
        auth.account,
        SMS,
        label,
        Some(phone.as_str().as_bytes()),
    )
    .await?;
    let id = record.id.clone();
    otp::send(state, auth.account, otp::SMS, &id, phone.as_str(), client).await?;
    audit::record(
        state,
        "factor.enrolment_started",
        Some(auth.account.to_string()),
        Some(id),
        Some(client),
        json!({"kind": SMS}),
    )
    .await?;
    Ok(view(&record))
}

/// `POST /v1/me/factors/email`: codes by e-mail to the account's address.
///
/// # Errors
/// A stale session, the send bound.
pub async fn enrol_email(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<FactorView, ApiError> {
    require_fresh(state, auth)?;
    let label = check_label(label, "E-mail")?;
    let account = accounts::live_account(state, auth.account).await?;
    let email = accounts::profile(state, &account).await?.email;
    let record = insert_pending(state, auth.account, EMAIL_OTP, label, None).await?;
    let id = record.id.clone();
    otp::send(state, auth.account, otp::EMAIL, &id, &email, client).await?;
    audit::record(
        state,
        "factor.enrolment_started",
        Some(auth.account.to_string()),
        Some(id),
        Some(client),
        json!({"kind": EMAIL_OTP}),
    )
    .await?;
    Ok(view(&record))
}

/// Sends a login or step-up code for `factor` (SMS or e-mail); `target` is the challenge.
///
/// # Errors
/// No such confirmed factor, the send bound, or a failed delivery.
pub async fn send_challenge_code(
    state: &AppState,
    account: AccountId,
    factor: FactorKind,
    target: &str,
    client: &ClientInfo,
) -> Result<i64, ApiError> {
    let factors = state.store.factors.list(account).await?;
    match factor {
        FactorKind::Sms => {
            let f = factors
                .iter()
                .find(|f| f.kind == SMS && f.confirmed_at.is_some())
                .ok_or(ApiError::Challenge(
                    portcullis_core::login::ChallengeError::FactorNotOffered,
                ))?;
            let key = accounts::data_key(state, account).await?;
            let blob = f
                .secret_ct
                .as_deref()
                .ok_or_else(|| ApiError::Internal("SMS factor without number".into()))?;
            let phone = String::from_utf8(key.decrypt(blob, &secret_aad(&f.id))?)
                .map_err(|_| ApiError::Internal("SMS factor number is not UTF-8".into()))?;
            otp::send(state, account, otp::SMS, target, &phone, client).await
        }
        FactorKind::EmailOtp => {
            if !factors
                .iter()
                .any(|f| f.kind == EMAIL_OTP && f.confirmed_at.is_some())
            {
                return Err(ApiError::Challenge(
                    portcullis_core::login::ChallengeError::FactorNotOffered,
                ));
            }
            let record = accounts::live_account(state, account).await?;
            let email = accounts::profile(state, &record).await?.email;
            otp::send(state, account, otp::EMAIL, target, &email, client).await
        }
        _ => Err(ApiError::bad_request(
            "not-a-sent-code",
            "only sms and email_otp codes are sent",
        )),
    }
}
