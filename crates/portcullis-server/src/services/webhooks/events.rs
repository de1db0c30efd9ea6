//! The account events: their JSON body (`{"type", "timestamp", "data"}`), sealed with the
//! keyring for the outbox. The account services build one before a change and hand it to the
//! store, which writes it in the change's transaction (`AccountChangeRepo`).
//!
//! `data` carries what a subscriber needs to keep its own account: the id, the e-mail address
//! and display name, the status and roles, and the times. Never a password hash, a factor, a
//! token or the phone number. A deletion carries only the id: the personal data is gone.

use portcullis_core::ids::AccountId;
use portcullis_core::webhook::EventType;
use portcullis_store::model::AccountEvent;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::services::ServiceError;
use crate::services::accounts::Profile;
use crate::state::AppState;

/// Associated data of a sealed event body.
fn payload_aad(event_id: &str) -> Vec<u8> {
    format!("portcullis/webhook-event/v1:{event_id}").into_bytes()
}

/// Opens a sealed event body.
///
/// # Errors
/// A keyring failure (tampered or foreign ciphertext).
pub(crate) fn open(
    state: &AppState,
    event_id: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, ServiceError> {
    Ok(state
        .keyring()
        .open_secret(sealed, &payload_aad(event_id))?)
}

/// `unix` seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// What a subscriber learns of an account.
pub fn data(profile: &Profile) -> Value {
    json!({
        "id": profile.id,
        "email": profile.email,
        "email_verified": profile.verified_at.is_some(),
        "display_name": profile.display_name,
        "status": profile.status,
        "roles": profile.roles,
        "created_at": rfc3339(profile.created_at),
        "verified_at": profile.verified_at.map(rfc3339),
    })
}

/// What a subscriber learns of a deleted account: its id alone.
pub fn deleted(id: AccountId) -> Value {
    json!({ "id": id.to_string(), "status": "deleted" })
}

/// An event of type `kind` on `account` with `data`, its body sealed.
///
/// # Errors
/// Keyring failure.
pub fn account_event(
    state: &AppState,
    kind: EventType,
    account: AccountId,
    data: Value,
) -> Result<AccountEvent, ServiceError> {
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let at = state.now();
    let body = json!({ "type": kind.as_str(), "timestamp": rfc3339(at), "data": data });
    let sealed = state
        .keyring()
        .seal_secret(&serde_json::to_vec(&body)?, &payload_aad(&id))?;
    Ok(AccountEvent {
        id,
        account,
        event_type: kind.as_str(),
        bit: kind.bit(),
        payload_sealed: sealed,
        at,
    })
}
