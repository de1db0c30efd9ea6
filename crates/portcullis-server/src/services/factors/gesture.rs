//! Gesture passcodes: enrolment of a canonical gesture (core's `factor::gesture` rules:
//! alphabet, length, strength), kept only as an argon2id hash, and its check at a login or
//! step-up. The API takes the canonical form, so any client can draw its own pad.

use portcullis_core::factor::FactorKind;
use portcullis_core::factor::gesture::Gesture;
use portcullis_core::ids::AccountId;
use zeroize::Zeroizing;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::{FactorView, check_label, passcode};
use crate::state::AppState;

const KIND: FactorKind = FactorKind::Gesture;

/// `POST /v1/me/factors/gesture`: enrols a gesture, confirmed at once.
///
/// # Errors
/// [`Invalid::Gesture`] with the rule broken, a bad label, a session that must step up
/// first, storage failure.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_gesture(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    gesture: &str,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    let label = check_label(label, "Gesture passcode")?;
    let gesture = Gesture::parse_new(gesture)
        .map_err(|e| ServiceError::invalid(Invalid::Gesture, e.to_string()))?;
    passcode::enrol(state, auth, KIND, label, secret(&gesture), client).await
}

/// Checks a gesture against the account's gesture passcodes; one that does not parse fails.
///
/// # Errors
/// Storage, keyring or hashing failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn check_gesture(
    state: &AppState,
    account: AccountId,
    gesture: &str,
) -> Result<bool, ServiceError> {
    let Ok(gesture) = Gesture::parse(gesture) else {
        return Ok(false);
    };
    passcode::check(state, account, KIND, secret(&gesture)).await
}

fn secret(gesture: &Gesture) -> passcode::Secret {
    let canonical = Zeroizing::new(gesture.canonical().as_bytes().to_vec());
    Box::new(move || canonical)
}
