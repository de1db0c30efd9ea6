//! What operators do to accounts (`portcullis user add | disable | enable | roles`): each
//! change is written with its webhook event in one transaction, then audited, so a
//! subscriber hears of it whichever way it was made.

use portcullis_core::contact::{DisplayName, Email};
use portcullis_core::ids::AccountId;
use portcullis_core::password::Password;
use portcullis_core::webhook::EventType;
use portcullis_store::StoreError;
use portcullis_store::model::{AccountRecord, AccountStatus};
use serde_json::json;

use super::{Profile, profile, seal_account};
use crate::services::error::ServiceError;
use crate::services::webhooks::events;
use crate::services::{audit, passwords};
use crate::state::AppState;

/// Creates an active (already verified) account; `account.created`.
///
/// # Errors
/// A refused password, [`ServiceError::Conflict`] when the address is taken.
pub async fn create_active(
    state: &AppState,
    email: &Email,
    display_name: Option<&DisplayName>,
    password: Password,
    roles: Vec<String>,
    actor: String,
) -> Result<AccountId, ServiceError> {
    state
        .config
        .password
        .policy
        .check(&password, Some(email), &[])?;
    let hash = passwords::hash(state, password).await?;
    let id = AccountId::new(state.clock.now_millis(), state.random::<10>());
    let (record, wrapped) = seal_account(
        state,
        id,
        email,
        display_name,
        None,
        &hash,
        AccountStatus::Active,
        roles.clone(),
    )?;
    let data = events::data(&Profile::of_new(&record, email, display_name));
    let event = events::account_event(state, EventType::Created, id, data)?;
    match state
        .store
        .account_changes
        .create_with_event(&record, &wrapped, &event)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ServiceError::Conflict(
                "an account with this e-mail already exists",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    admin_audit(
        state,
        "admin.user_added",
        actor,
        id,
        json!({ "roles": roles }),
    )
    .await?;
    Ok(id)
}

/// Disables an account and ends its sessions; `account.disabled`. Returns the sessions ended.
///
/// # Errors
/// [`ServiceError::NotFound`] for a deleted account.
pub async fn disable(
    state: &AppState,
    account: &AccountRecord,
    actor: String,
) -> Result<u64, ServiceError> {
    let changed = with_status(state, account, AccountStatus::Disabled, EventType::Disabled).await?;
    if !changed {
        return Err(ServiceError::NotFound);
    }
    let n = state
        .store
        .sessions
        .revoke_all(account.id, None, "account_disabled", state.now())
        .await?;
    // Running nodes poll for this; with Redis they hear it at once.
    crate::cluster::revocations_changed(state).await;
    admin_audit(
        state,
        "admin.user_disabled",
        actor,
        account.id,
        json!({ "sessions_revoked": n }),
    )
    .await?;
    Ok(n)
}

/// Enables a disabled account; `account.updated`.
///
/// # Errors
/// [`ServiceError::Conflict`] when it is not disabled.
pub async fn enable(
    state: &AppState,
    account: &AccountRecord,
    actor: String,
) -> Result<(), ServiceError> {
    if account.status != AccountStatus::Disabled {
        return Err(ServiceError::Conflict("the account is not disabled"));
    }
    if !with_status(state, account, AccountStatus::Active, EventType::Updated).await? {
        return Err(ServiceError::NotFound);
    }
    admin_audit(state, "admin.user_enabled", actor, account.id, json!({})).await
}

/// Replaces an account's roles; `account.updated`.
///
/// # Errors
/// [`ServiceError::NotFound`] for a deleted account.
pub async fn set_roles(
    state: &AppState,
    account: &AccountRecord,
    roles: Vec<String>,
    actor: String,
) -> Result<(), ServiceError> {
    let mut after = profile(state, account).await?;
    after.roles = roles.clone();
    let event = events::account_event(state, EventType::Updated, account.id, events::data(&after))?;
    if !state
        .store
        .account_changes
        .set_roles_with_event(account.id, &roles, state.now(), &event)
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    admin_audit(
        state,
        "admin.roles_changed",
        actor,
        account.id,
        json!({ "roles": roles }),
    )
    .await
}

async fn with_status(
    state: &AppState,
    account: &AccountRecord,
    status: AccountStatus,
    kind: EventType,
) -> Result<bool, ServiceError> {
    let mut after = profile(state, account).await?;
    after.status = status.to_string();
    let event = events::account_event(state, kind, account.id, events::data(&after))?;
    Ok(state
        .store
        .account_changes
        .set_status_with_event(account.id, status, state.now(), &event)
        .await?)
}

async fn admin_audit(
    state: &AppState,
    event: &str,
    actor: String,
    subject: AccountId,
    detail: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        state,
        event,
        Some(actor),
        Some(subject.to_string()),
        None,
        detail,
    )
    .await
}
