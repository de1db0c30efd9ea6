//! Registration and e-mail verification: a new account is sealed and stored as `pending`,
//! and the owner of the address gets a one-time link that activates it. A taken address
//! answers the same as a free one (its owner is told by mail), so registration reveals no
//! accounts. The e-mailed links (verification here, password reset for the credentials
//! service) are minted by [`send_link`]. Every mail here passes the send cooldown first
//! (`services::cooldown`), and a dropped one is answered like a sent one.

use portcullis_core::contact::{DisplayName, Email, PhoneE164};
use portcullis_core::ids::AccountId;
use portcullis_core::password::Password;
use portcullis_core::secret::OpaqueToken;
use portcullis_store::StoreError;
use portcullis_store::model::AccountStatus;
use portcullis_store::pii;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{Profile, mark_verified, seal_account};
use crate::extract::ClientInfo;
use crate::services::cooldown::{self, Message};
use crate::services::error::{Invalid, ServiceError};
use crate::services::mail::{self, Mail};
use crate::services::webhooks::events;
use crate::services::{audit, passwords};
use crate::state::AppState;
use portcullis_core::webhook::EventType;

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
    let event = events::account_event(
        state,
        EventType::Created,
        id,
        events::data(&Profile::of_new(&record, &email, display_name.as_ref())),
    )?;
    match state
        .store
        .account_changes
        .create_with_event(&record, &wrapped, &event)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            tell_the_owner(state, &email, client).await?;
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
    send_link(state, id, &email, VERIFY, VERIFY_TTL, client).await?;
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

/// A registration of a taken address, answered to its owner by mail. An account still
/// `pending` gets a fresh verification link instead of the notice: registering again is how
/// its owner asks for the link that never came (lost mail, or a crash between storing the
/// account and queuing its mail). The account keeps the password it was created with.
async fn tell_the_owner(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let index = pii::email_index(&state.keyring(), email.as_str());
    let existing = state.store.accounts.find_by_email_index(&index).await?;
    if let Some(pending) = existing.filter(|a| a.status == AccountStatus::Pending) {
        return send_link(state, pending.id, email, VERIFY, VERIFY_TTL, client).await;
    }
    if cooldown::admit(
        state,
        Message::AddressTaken,
        email.as_str(),
        None,
        Some(client),
    )
    .await?
    {
        mail::enqueue(state, &Mail {
            to: email.as_str().to_owned(),
            subject: "Someone tried to register with your address".into(),
            body: "Someone tried to create a Portcullis account with this e-mail address, which already has one.\n\nIf it was you, log in or reset your password. Otherwise you can ignore this message.\n".into(),
            link: None,
        }).await?;
    }
    Ok(())
}

/// Mails `email` a fresh single-use link for `purpose` (the previous one stops working),
/// unless the address got enough of these lately: then nothing changes, so the link that went
/// out last stays the one that works, and the caller answers as usual.
pub(crate) async fn send_link(
    state: &AppState,
    id: AccountId,
    email: &Email,
    purpose: &str,
    ttl: i64,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let kind = match purpose {
        VERIFY => Message::Verification,
        _ => Message::PasswordReset,
    };
    if !cooldown::admit(state, kind, email.as_str(), Some(id), Some(client)).await? {
        return Ok(());
    }
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
    mark_verified(state, id, now).await?;
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
