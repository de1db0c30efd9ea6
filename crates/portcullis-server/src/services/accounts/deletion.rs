//! Leaving, and taking one's data along: deleting an account (the password asked again,
//! then its data key destroyed: crypto-shredding) and exporting everything held on it.

use portcullis_core::ids::AccountId;
use portcullis_core::password::{Password, PasswordHash, Verification};
use portcullis_store::model::AccountRecord;
use serde_json::json;

use super::{live_account, profile};
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::webhooks::events;
use crate::services::{audit, passwords};
use crate::state::AppState;
use portcullis_core::webhook::EventType;

pub(crate) async fn check_password(
    state: &AppState,
    account: &AccountRecord,
    password: Password,
) -> Result<(), ServiceError> {
    let stored = PasswordHash::from_phc(account.password_hash.clone());
    match passwords::verify(state, password, Some(stored)).await? {
        Some(Verification::Match { .. }) => Ok(()),
        _ => Err(ServiceError::InvalidCredentials),
    }
}

/// `DELETE /v1/me`: asks for the password, then destroys the data key (crypto-shredding).
///
/// # Errors
/// Wrong password.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn delete(
    state: &AppState,
    id: AccountId,
    password: Password,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let account = live_account(state, id).await?;
    check_password(state, &account, password).await?;
    let event = events::account_event(state, EventType::Deleted, id, events::deleted(id))?;
    state
        .store
        .account_changes
        .shred_with_event(id, state.now(), &event)
        .await?;
    crate::cluster::revocations_changed(state).await;
    audit::record(
        state,
        "account.deleted",
        Some(id.to_string()),
        None,
        Some(client),
        json!({"data_key": "destroyed"}),
    )
    .await
}

/// `GET /v1/me/export`: everything held on the account.
///
/// # Errors
/// Storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn export(state: &AppState, id: AccountId) -> Result<serde_json::Value, ServiceError> {
    let account = live_account(state, id).await?;
    let profile = profile(state, &account).await?;
    let sessions = state.store.sessions.list_live(id, state.now()).await?;
    let events = state.ledgers.audit.by_actor(&id.to_string(), 1000).await?;
    Ok(json!({
        "account": profile,
        "sessions": sessions.iter().map(session_json).collect::<Vec<_>>(),
        "audit_events": events.iter().map(|e| json!({"seq": e.seq, "at": e.at, "event": e.event.event, "ip": e.event.ip, "detail": e.event.detail})).collect::<Vec<_>>(),
        "exported_at": state.now(),
    }))
}

/// A session as shown to its owner.
pub fn session_json(s: &portcullis_store::model::SessionRecord) -> serde_json::Value {
    json!({
        "id": s.id.to_string(), "acr": s.acr, "amr": s.amr, "created_at": s.created_at,
        "last_seen_at": s.last_seen_at, "expires_at": s.idle_expires_at.min(s.absolute_expires_at),
        "user_agent": s.user_agent, "ip": s.ip,
    })
}
