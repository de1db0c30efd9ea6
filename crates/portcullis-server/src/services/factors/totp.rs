//! Authenticator apps (TOTP, RFC 6238): enrolment with an `otpauth://` URI and its QR
//! codes, the first code that confirms it, and codes during a login or step-up, each time
//! step accepted once.

use base64::Engine as _;
use portcullis_core::factor::FactorKind;
use portcullis_core::factor::totp::{TotpError, TotpSecret};
use portcullis_core::ids::AccountId;
use portcullis_store::model::FactorRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::accounts;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self, NewFactor};
use crate::services::factors::{authorise, check_label, confirmed_of, secret_aad};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

const KIND: FactorKind = FactorKind::Totp;

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

/// `POST /v1/me/factors/totp`: a new, unconfirmed authenticator.
///
/// # Errors
/// A stale session (step up first), storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_totp(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<TotpEnrolment, ServiceError> {
    let label = check_label(label, "Authenticator app")?;
    // What the input says is checked first: no step-up only to hear the input was wrong.
    authorise(state, auth, FactorChange::Enrol).await?;
    begin(state, auth.account, label, client).await
}

/// A new, unconfirmed authenticator for `account` with a checked `label`, once whoever
/// asked was authorised: by [`enrol_totp`]'s session, or by a login's enrolment grant
/// (`services::login::enrolment`).
///
/// # Errors
/// Storage or keyring failure.
pub(crate) async fn begin(
    state: &AppState,
    account: AccountId,
    label: String,
    client: &ClientInfo,
) -> Result<TotpEnrolment, ServiceError> {
    let account = accounts::live_account(state, account).await?;
    let email = accounts::profile(state, &account).await?.email;
    let secret = TotpSecret::generate(state.entropy.as_ref());
    let new = NewFactor {
        kind: KIND,
        label,
        secret: Some(secret.as_bytes()),
    };
    let (record, (uri, qr_svg, png)) =
        enrolment::enrol(state, account.id, new, client, async |_| {
            let uri = secret
                .otpauth_uri(&state.config.mfa.totp_issuer, &email)
                .map_err(|e| ServiceError::unexpected_from("otpauth URI", e))?;
            let svg =
                crate::qr::svg(&uri).map_err(|e| ServiceError::unexpected_from("QR code", e))?;
            let png =
                crate::qr::png(&uri).map_err(|e| ServiceError::unexpected_from("QR code", e))?;
            Ok((uri, svg, png))
        })
        .await?;
    Ok(TotpEnrolment {
        id: record.id,
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
) -> Result<TotpSecret, ServiceError> {
    let key = accounts::data_key(state, account).await?;
    let blob = f
        .secret_ct
        .as_deref()
        .ok_or_else(|| ServiceError::unexpected("TOTP factor without secret"))?;
    let bytes = key.decrypt(blob, &secret_aad(&f.id))?;
    TotpSecret::from_bytes(bytes)
        .map_err(|e| ServiceError::unexpected_from("stored TOTP secret", e))
}

/// The time step of a first `code` for the pending authenticator `f`, if it is right.
pub(crate) async fn first_step(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    code: &str,
    now: i64,
) -> Result<Option<i64>, ServiceError> {
    Ok(open_secret(state, account, f)
        .await?
        .verify(code, now, None)
        .ok())
}

/// Checks a TOTP code against the account's confirmed authenticators, spending its time
/// step. Returns whether it was accepted.
///
/// # Errors
/// Storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn check_totp(
    state: &AppState,
    account: AccountId,
    code: &str,
) -> Result<bool, ServiceError> {
    let now = state.now();
    let factors = state.store.factors.list(account).await?;
    for f in confirmed_of(&factors, KIND) {
        let secret = open_secret(state, account, f).await?;
        match secret.verify(code, now, f.last_step) {
            Ok(step) => {
                let spent = state.store.factors.advance_step(&f.id, step, now).await?;
                count(if spent { "used" } else { "replayed" });
                return Ok(spent);
            }
            Err(TotpError::Replayed) => {
                count("replayed");
                return Ok(false);
            }
            Err(_) => {}
        }
    }
    count("failed");
    Ok(false)
}

fn count(event: &'static str) {
    metrics::counter!("portcullis_factor_events_total", "kind" => KIND.as_str(), "event" => event)
        .increment(1);
}
