//! An account's personal data, sealed under its own data key: unwrapping the key, sealing a
//! new account record, opening it into a [`Profile`], and changing the profile. The key is
//! per account so that destroying it (deletion) makes the sealed fields unreadable.

use portcullis_core::contact::{DisplayName, Email, PhoneE164};
use portcullis_core::ids::AccountId;
use portcullis_core::password::PasswordHash;
use portcullis_store::keyring::DataKey;
use portcullis_store::model::{AccountRecord, AccountStatus};
use portcullis_store::pii;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::ServiceError;
use crate::services::webhooks::events;
use crate::state::AppState;
use portcullis_core::webhook::EventType;

/// An account's profile, decrypted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    /// Account id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Phone number (E.164).
    pub phone: Option<String>,
    /// `pending`, `active`, `disabled`.
    pub status: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, when verified.
    pub verified_at: Option<i64>,
}

/// Unwraps an account's data key.
///
/// # Errors
/// A missing (shredded) key or a keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn data_key(state: &AppState, id: AccountId) -> Result<DataKey, ServiceError> {
    let wrapped = state
        .store
        .accounts
        .data_key(id)
        .await?
        .ok_or_else(|| ServiceError::unexpected(format!("no data key for account {id}")))?;
    Ok(state.keyring().unwrap_key(&wrapped, &pii::key_aad(id))?)
}

/// Decrypts the personal fields of an account.
///
/// # Errors
/// Keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %account.id))]
pub async fn profile(state: &AppState, account: &AccountRecord) -> Result<Profile, ServiceError> {
    let key = data_key(state, account.id).await?;
    let open = |field: &str, blob: &Option<Vec<u8>>| -> Result<Option<String>, ServiceError> {
        blob.as_ref()
            .map(|b| pii::open(&key, account.id, field, b).map_err(ServiceError::from))
            .transpose()
    };
    Ok(Profile {
        id: account.id.to_string(),
        email: pii::open(&key, account.id, "email", &account.email_ct)?,
        display_name: open("display_name", &account.display_name_ct)?,
        phone: open("phone", &account.phone_ct)?,
        status: account.status.to_string(),
        roles: account.roles.clone(),
        created_at: account.created_at,
        verified_at: account.verified_at,
    })
}

/// Loads a live (not deleted) account.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] when it is gone.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn live_account(state: &AppState, id: AccountId) -> Result<AccountRecord, ServiceError> {
    match state.store.accounts.get(id).await? {
        Some(a) if a.status != AccountStatus::Deleted => Ok(a),
        _ => Err(ServiceError::Unauthenticated(
            "the account no longer exists",
        )),
    }
}

/// Creates an account record with sealed personal data (no I/O besides the keyring).
///
/// # Errors
/// Keyring failure.
#[expect(clippy::too_many_arguments, reason = "one argument per account field")]
pub fn seal_account(
    state: &AppState,
    id: AccountId,
    email: &Email,
    display_name: Option<&DisplayName>,
    phone: Option<&PhoneE164>,
    hash: &PasswordHash,
    status: AccountStatus,
    roles: Vec<String>,
) -> Result<(AccountRecord, portcullis_store::keyring::WrappedKey), ServiceError> {
    let (key, wrapped) = state.keyring().new_data_key(&pii::key_aad(id))?;
    let now = state.now();
    let record = AccountRecord {
        id,
        email_index: Some(pii::email_index(&state.keyring(), email.as_str())),
        email_ct: pii::seal(&key, id, "email", email.as_str())?,
        phone_ct: phone
            .map(|p| pii::seal(&key, id, "phone", p.as_str()))
            .transpose()?,
        display_name_ct: display_name
            .map(|d| pii::seal(&key, id, "display_name", d.as_str()))
            .transpose()?,
        password_hash: hash.as_phc().to_owned(),
        status,
        roles,
        created_at: now,
        updated_at: now,
        verified_at: (status == AccountStatus::Active).then_some(now),
    };
    Ok((record, wrapped))
}

/// Changes to a profile; `Some(None)` clears a field.
#[derive(Default)]
pub struct ProfileUpdate {
    /// New display name.
    pub display_name: Option<Option<String>>,
    /// New phone number.
    pub phone: Option<Option<String>>,
}

/// `PATCH /v1/me`.
///
/// # Errors
/// Invalid fields.
#[tracing::instrument(skip_all, fields(account.id = %id))]
pub async fn update_profile(
    state: &AppState,
    id: AccountId,
    update: ProfileUpdate,
    client: &ClientInfo,
) -> Result<Profile, ServiceError> {
    let mut account = live_account(state, id).await?;
    let key = data_key(state, id).await?;
    let mut changed = Vec::new();
    if let Some(name) = update.display_name {
        let name = name.as_deref().map(DisplayName::parse).transpose()?;
        account.display_name_ct = name
            .map(|n| pii::seal(&key, id, "display_name", n.as_str()))
            .transpose()?;
        changed.push("display_name");
    }
    if let Some(phone) = update.phone {
        let phone = phone.as_deref().map(PhoneE164::parse).transpose()?;
        account.phone_ct = phone
            .map(|p| pii::seal(&key, id, "phone", p.as_str()))
            .transpose()?;
        changed.push("phone");
    }
    let updated = profile(state, &account).await?;
    let event = events::account_event(state, EventType::Updated, id, events::data(&updated))?;
    state
        .store
        .account_changes
        .update_pii_with_event(&account, state.now(), &event)
        .await?;
    audit::record(
        state,
        "account.updated",
        Some(id.to_string()),
        None,
        Some(client),
        json!({"fields": changed}),
    )
    .await?;
    Ok(updated)
}

impl Profile {
    /// The profile of an account being created, from the values it is sealed from (its data
    /// key is not stored yet).
    pub(crate) fn of_new(
        record: &AccountRecord,
        email: &Email,
        display_name: Option<&DisplayName>,
    ) -> Self {
        Profile {
            id: record.id.to_string(),
            email: email.as_str().to_owned(),
            display_name: display_name.map(|d| d.as_str().to_owned()),
            phone: None,
            status: record.status.to_string(),
            roles: record.roles.clone(),
            created_at: record.created_at,
            verified_at: record.verified_at,
        }
    }
}

/// Activates a pending account with its `account.verified` event; returns false (and writes
/// no event) when it was not pending.
///
/// # Errors
/// Storage or keyring failure.
pub(crate) async fn mark_verified(
    state: &AppState,
    id: AccountId,
    now: i64,
) -> Result<bool, ServiceError> {
    let Some(account) = state.store.accounts.get(id).await? else {
        return Ok(false);
    };
    if account.status != AccountStatus::Pending {
        return Ok(false);
    }
    let mut after = profile(state, &account).await?;
    after.status = AccountStatus::Active.to_string();
    after.verified_at = Some(now);
    let event = events::account_event(state, EventType::Verified, id, events::data(&after))?;
    Ok(state
        .store
        .account_changes
        .mark_verified_with_event(id, now, &event)
        .await?)
}
