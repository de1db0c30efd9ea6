//! Accounts: registration, e-mail verification, profile, deletion, export, password changes.

use portcullis_core::contact::{DisplayName, Email, PhoneE164};
use portcullis_core::ids::AccountId;
use portcullis_core::password::{Password, PasswordHash, Verification};
use portcullis_core::secret::OpaqueToken;
use portcullis_store::keyring::DataKey;
use portcullis_store::model::{AccountRecord, AccountStatus};
use portcullis_store::{StoreError, pii};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::mail::{self, Mail};
use crate::services::{audit, passwords};
use crate::state::AppState;

const VERIFY: &str = "verify";
pub(crate) const RESET: &str = "reset";
const VERIFY_TTL: i64 = 24 * 3600;
pub(crate) const RESET_TTL: i64 = 3600;

/// What registration was given.
pub struct Registration {
    /// E-mail as typed.
    pub email: String,
    /// Password.
    pub password: Password,
    /// Optional display name.
    pub display_name: Option<String>,
    /// Optional phone number.
    pub phone: Option<String>,
}

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

/// Registration result: the same shape whether or not the address was already taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// The new account's id.
    pub id: String,
    /// Always `pending` until the e-mail is verified.
    pub status: &'static str,
}

fn new_account_id(state: &AppState) -> AccountId {
    AccountId::new(state.clock.now_millis(), state.random::<10>())
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

/// `POST /v1/accounts`.
///
/// # Errors
/// Invalid fields or a refused password. A taken e-mail is not an error: the owner is told
/// by mail and the caller sees the usual answer, so registration reveals no accounts.
#[tracing::instrument(skip_all)]
pub async fn register(
    state: &AppState,
    reg: Registration,
    client: &ClientInfo,
) -> Result<Registered, ServiceError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    let email = Email::parse(&reg.email)?;
    let display_name = reg
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?;
    let phone = reg.phone.as_deref().map(PhoneE164::parse).transpose()?;
    let inputs: Vec<&str> = display_name.iter().map(|d| d.as_str()).collect();
    state
        .config
        .password
        .policy
        .check(&reg.password, Some(&email), &inputs)?;
    let hash = passwords::hash(state, reg.password).await?;
    let id = new_account_id(state);
    let (record, wrapped) = seal_account(
        state,
        id,
        &email,
        display_name.as_ref(),
        phone.as_ref(),
        &hash,
        AccountStatus::Pending,
        vec![],
    )?;
    match state.store.accounts.create(&record, &wrapped).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            mail::enqueue(state, &Mail {
                to: email.as_str().to_owned(),
                subject: "Someone tried to register with your address".into(),
                body: "Someone tried to create a Portcullis account with this e-mail address, which already has one.\n\nIf it was you, log in or reset your password. Otherwise you can ignore this message.\n".into(),
                link: None,
            }).await?;
            audit::record(
                state,
                "account.register_duplicate",
                None,
                None,
                Some(client),
                json!({}),
            )
            .await?;
            return Ok(Registered {
                id: new_account_id(state).to_string(),
                status: "pending",
            });
        }
        Err(e) => return Err(e.into()),
    }
    send_link(state, id, &email, VERIFY, VERIFY_TTL).await?;
    audit::record(
        state,
        "account.registered",
        Some(id.to_string()),
        None,
        Some(client),
        json!({}),
    )
    .await?;
    metrics::counter!("portcullis_registrations_total").increment(1);
    Ok(Registered {
        id: id.to_string(),
        status: "pending",
    })
}

pub(crate) async fn send_link(
    state: &AppState,
    id: AccountId,
    email: &Email,
    purpose: &str,
    ttl: i64,
) -> Result<(), ServiceError> {
    let token = OpaqueToken::generate(state.entropy.as_ref());
    let now = state.now();
    state
        .store
        .email_tokens
        .invalidate(id, purpose, now)
        .await?;
    state
        .store
        .email_tokens
        .insert(&token.hash(), id, purpose, now, now + ttl)
        .await?;
    let (path, subject, text) = match purpose {
        VERIFY => (
            "verify-email",
            "Verify your e-mail address",
            "Welcome to Portcullis. Confirm your e-mail address with this link (valid for 24 hours):",
        ),
        _ => (
            "reset-password",
            "Reset your password",
            "Someone asked to reset the password of your Portcullis account. If it was you, use this link (valid for one hour); otherwise ignore this message:",
        ),
    };
    let link = format!("{}/{path}?token={}", state.public_url, token.expose());
    mail::enqueue(
        state,
        &Mail {
            to: email.as_str().to_owned(),
            subject: subject.into(),
            body: format!("{text}\n\n{link}\n"),
            link: Some(link),
        },
    )
    .await
}

/// `POST /v1/accounts/verify`.
///
/// # Errors
/// [`ServiceError::BadRequest`] for an unknown, used or expired token.
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            Invalid::Token,
            "the verification link is invalid or has expired",
        )
    };
    let token = OpaqueToken::parse(token).ok_or_else(invalid)?;
    let now = state.now();
    let id = state
        .store
        .email_tokens
        .consume(&token.hash(), VERIFY, now)
        .await?
        .ok_or_else(invalid)?;
    state.store.accounts.mark_verified(id, now).await?;
    audit::record(
        state,
        "account.verified",
        Some(id.to_string()),
        None,
        Some(client),
        json!({}),
    )
    .await
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
    state
        .store
        .accounts
        .update_pii(&account, state.now())
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
    profile(state, &account).await
}

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
    state.store.accounts.shred(id, state.now()).await?;
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
    let events = state.store.audit.by_actor(&id.to_string(), 1000).await?;
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
