//! Credentials: changing a password, and resetting a forgotten one by mail.

use portcullis_core::contact::Email;
use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::password::Password;
use portcullis_core::secret::OpaqueToken;
use portcullis_store::model::AccountStatus;
use portcullis_store::pii;
use serde_json::json;

use crate::extract::ClientInfo;
use crate::services::accounts::{
    RESET, RESET_TTL, check_password, live_account, profile, send_link,
};
use crate::services::error::{Invalid, ServiceError};
use crate::services::{audit, passwords, sessions};
use crate::state::AppState;

/// `POST /v1/me/password`: changes the password and ends the other sessions.
///
/// # Errors
/// Wrong current password or a refused new one.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn change_password(
    state: &AppState,
    id: AccountId,
    current_session: SessionId,
    current: Password,
    new: Password,
    client: &ClientInfo,
) -> Result<u64, ServiceError> {
    let account = live_account(state, id).await?;
    check_password(state, &account, current).await?;
    let email = Email::parse(&profile(state, &account).await?.email)?;
    state
        .config
        .password
        .policy
        .check(&new, Some(&email), &[])?;
    let hash = passwords::hash(state, new).await?;
    state
        .store
        .accounts
        .set_password_hash(id, hash.as_phc(), state.now())
        .await?;
    audit::record(
        state,
        "password.changed",
        Some(id.to_string()),
        None,
        Some(client),
        json!({}),
    )
    .await?;
    sessions::revoke_all(state, id, Some(current_session), "password_changed", client).await
}

/// `POST /v1/password/forgot`: mails a reset link when the account exists. The caller always
/// gets the same answer; the work happens in the background so timing tells nothing either.
#[tracing::instrument(skip_all)]
pub async fn forgot(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let state = state.clone();
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = forgot_inner(&state, &email, &client).await {
            tracing::warn!(error = %e, "password reset request failed");
        }
    });
    Ok(())
}

async fn forgot_inner(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let key = pii::email_index(&state.keyring(), email.as_str());
    let Some(account) = state.store.accounts.find_by_email_index(&key).await? else {
        return Ok(());
    };
    if !matches!(
        account.status,
        AccountStatus::Active | AccountStatus::Pending
    ) {
        return Ok(());
    }
    send_link(state, account.id, email, RESET, RESET_TTL, client).await?;
    audit::record(
        state,
        "password.reset_requested",
        Some(account.id.to_string()),
        None,
        Some(client),
        json!({}),
    )
    .await
}

/// `POST /v1/password/reset`: sets a new password from a mailed token and ends every session.
///
/// # Errors
/// Invalid token or a refused password (the token then stays usable).
#[tracing::instrument(skip_all)]
pub async fn reset(
    state: &AppState,
    token: &str,
    new: Password,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let invalid =
        || ServiceError::invalid(Invalid::Token, "the reset link is invalid or has expired");
    let token = OpaqueToken::parse(token).ok_or_else(invalid)?;
    let now = state.now();
    let id = state
        .store
        .email_tokens
        .peek(&token.hash(), RESET, now)
        .await?
        .ok_or_else(invalid)?;
    let account = live_account(state, id).await.map_err(|_| invalid())?;
    let email = Email::parse(&profile(state, &account).await?.email)?;
    state
        .config
        .password
        .policy
        .check(&new, Some(&email), &[])?;
    let hash = passwords::hash(state, new).await?;
    if state
        .store
        .email_tokens
        .consume(&token.hash(), RESET, state.now())
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    state
        .store
        .accounts
        .set_password_hash(id, hash.as_phc(), state.now())
        .await?;
    // A reset proves control of the mailbox, so a pending account becomes verified too.
    super::accounts::mark_verified(state, id, state.now()).await?;
    audit::record(
        state,
        "password.reset",
        Some(id.to_string()),
        None,
        Some(client),
        json!({}),
    )
    .await?;
    sessions::revoke_all(state, id, None, "password_reset", client).await?;
    Ok(())
}
