//! Pairs made by an advisor's invitation. The advisor names a client by e-mail address and
//! learns nothing about it until the client accepts: every invitation is stored, answered and
//! listed alike (an address of a client, of another account or of nobody), and counts alike
//! against the advisor's bounds (`max_pending_invitations`, `invitations_per_hour`). The
//! invited client finds it on signing in (their list of invitations, the console page) and
//! accepts it, which makes the pair; nothing is mailed, so an invitation reaches no one who
//! has no account. An advisor may cancel a pending invitation; a client who does not want it
//! lets it expire, so that no answer differs for an address that has no account.

use portcullis_core::dualconfirm::words::Language;
use portcullis_store::model::{
    AccountStatus, InvitationRecord, InvitationStatus, PairRecord, PairStatus,
};
use portcullis_store::repo::InvitationBounds;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::ADVISOR_ROLE;
use super::queries::own;
use super::records::{PartyView, insert, party};
use super::sides::sides_of;
use crate::auth::AuthSession;
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// The period of `invitations_per_hour`.
const RATE_PERIOD_SECS: i64 = 3600;

/// Associated data sealing an invitation's address to its id.
fn email_aad(id: &str) -> Vec<u8> {
    format!("dualconfirm-invitation:{id}").into_bytes()
}

/// An invitation as the advisor who sent it sees it: the same for every address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SentInvitation {
    /// Invitation id.
    pub id: String,
    /// The address invited.
    pub client_email: String,
    /// `pending`: an invitation leaves the list when it is accepted, cancelled or expires.
    pub status: &'static str,
    /// Word-list language of the pair it makes.
    pub language: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// An invitation as the invited client sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReceivedInvitation {
    /// Invitation id.
    pub id: String,
    /// The inviting advisor, by verified identity.
    pub advisor: PartyView,
    /// Word-list language of the pair it makes.
    pub language: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A caller's invitations: sent (as an advisor) and received (as a client).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Invitations {
    /// Sent and still pending.
    pub sent: Vec<SentInvitation>,
    /// Received and still pending.
    pub received: Vec<ReceivedInvitation>,
}

fn sent(state: &AppState, i: &InvitationRecord) -> Result<SentInvitation, ServiceError> {
    let email = Zeroizing::new(
        state
            .keyring()
            .open_secret(&i.email_sealed, &email_aad(&i.id))?,
    );
    let client_email = String::from_utf8(email.to_vec())
        .map_err(|_| ServiceError::unexpected("a sealed invitation address is not text"))?;
    Ok(SentInvitation {
        id: i.id.clone(),
        client_email,
        status: InvitationStatus::Pending.as_str(),
        language: i.language.clone(),
        created_at: i.created_at,
        expires_at: i.expires_at,
    })
}

/// An advisor invites whoever holds `client_email`. The answer (the invitation as the advisor
/// sees it) is the same whatever the address is; inviting an address again while its
/// invitation is pending answers that invitation.
///
/// # Errors
/// The caller is not an advisor; a malformed address; the advisor's bounds
/// ([`ServiceError::RateLimited`], with the wait until a place frees); storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account))]
pub async fn invite(
    state: &AppState,
    caller: &AuthSession,
    client_email: &str,
    language: Language,
    info: &ClientInfo,
) -> Result<SentInvitation, ServiceError> {
    if !sides_of(state, caller).await?.advisor {
        return Err(ServiceError::Forbidden("only advisors invite clients"));
    }
    let Ok(email) = portcullis_core::contact::Email::parse(client_email) else {
        return Err(ServiceError::invalid(
            Invalid::Email,
            "client_email is not an e-mail address",
        ));
    };
    let index = portcullis_store::pii::email_index(&state.keyring(), email.as_str());
    let now = state.now();
    let repo = &state.store.invitations;
    if let Some(open) = repo
        .pending_of(caller.account, now)
        .await?
        .into_iter()
        .find(|i| i.email_index == index)
    {
        return sent(state, &open);
    }
    let config = &state.config.dualconfirm;
    let id = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let record = InvitationRecord {
        email_sealed: state
            .keyring()
            .seal_secret(email.as_str().as_bytes(), &email_aad(&id))?,
        id,
        advisor: caller.account,
        email_index: index,
        language: language.as_str().to_owned(),
        status: InvitationStatus::Pending,
        created_at: now,
        expires_at: now.saturating_add(config.invitation_ttl.as_secs_i64()),
    };
    let bounds = InvitationBounds {
        max_pending: config.max_pending_invitations,
        max_recent: config.invitations_per_hour,
        since: now - RATE_PERIOD_SECS,
    };
    if !repo.create(&record, bounds, now).await? {
        return Err(refusal(state, caller, bounds, now).await?);
    }
    audit::record(
        state,
        "dualconfirm.invitation",
        Some(caller.account.to_string()),
        None,
        Some(info),
        json!({"invitation": record.id}),
    )
    .await?;
    sent(state, &record)
}

/// The 429 of an advisor over its bounds: how long until a place frees.
async fn refusal(
    state: &AppState,
    caller: &AuthSession,
    bounds: InvitationBounds,
    now: i64,
) -> Result<ServiceError, ServiceError> {
    let counts = state
        .store
        .invitations
        .counts(caller.account, bounds.since, now)
        .await?;
    let mut wait = 1;
    if counts.pending >= bounds.max_pending
        && let Some(expiry) = counts.first_expiry
    {
        wait = wait.max(expiry - now);
    }
    if counts.recent >= bounds.max_recent
        && let Some(first) = counts.first_recent
    {
        wait = wait.max(first - bounds.since);
    }
    metrics::counter!("portcullis_rate_limited_total", "scope" => "dualconfirm_invitation")
        .increment(1);
    Ok(ServiceError::RateLimited {
        retry_after: u64::try_from(wait).unwrap_or(1),
    })
}

/// The caller's pending invitations: those it sent as an advisor, and those addressed to its
/// e-mail address as a client.
///
/// # Errors
/// Storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account))]
pub async fn list(state: &AppState, caller: &AuthSession) -> Result<Invitations, ServiceError> {
    let sides = sides_of(state, caller).await?;
    let now = state.now();
    let mut out = Invitations::default();
    if sides.advisor {
        for i in state
            .store
            .invitations
            .pending_of(caller.account, now)
            .await?
        {
            out.sent.push(sent(state, &i)?);
        }
    }
    if sides.client
        && let Some(index) = &sides.email_index
    {
        for i in state.store.invitations.pending_for(index, now).await? {
            out.received.push(ReceivedInvitation {
                advisor: party(state, i.advisor, None).await?,
                id: i.id,
                language: i.language,
                expires_at: i.expires_at,
            });
        }
    }
    Ok(out)
}

/// The invited client accepts: the pair is made (or, if the advisor and client are paired
/// already, that pair is the answer) and the invitation is spent.
///
/// # Errors
/// Not a pending invitation to the caller's address, or the caller is not a client
/// ([`ServiceError::NotFound`] either way); storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, invitation.id = %id))]
pub async fn accept_invitation(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    info: &ClientInfo,
) -> Result<PairRecord, ServiceError> {
    let sides = sides_of(state, caller).await?;
    let now = state.now();
    let invitation = state
        .store
        .invitations
        .get(id)
        .await?
        .filter(|i| i.status == InvitationStatus::Pending && i.expires_at > now)
        .filter(|i| sides.client && sides.email_index.as_ref() == Some(&i.email_index))
        .ok_or(ServiceError::NotFound)?;
    let advisor = state.store.accounts.get(invitation.advisor).await?;
    if !advisor.is_some_and(|a| {
        a.status == AccountStatus::Active && a.roles.iter().any(|r| r == ADVISOR_ROLE)
    }) {
        return Err(ServiceError::NotFound);
    }
    if !state
        .store
        .invitations
        .close(id, InvitationStatus::Accepted)
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    let language = invitation.language.parse().unwrap_or(Language::En);
    let actor = format!("advisor:{}", invitation.advisor);
    let pair = match insert(
        state,
        invitation.advisor,
        caller.account,
        language,
        PairStatus::Active,
        actor,
    )
    .await
    {
        Ok(pair) => pair,
        Err(ServiceError::Conflict(_)) => state
            .store
            .pairs
            .of_client(caller.account)
            .await?
            .into_iter()
            .find(|p| p.advisor == invitation.advisor)
            .ok_or(ServiceError::Conflict(
                "this advisor and client are already paired",
            ))?,
        Err(e) => return Err(e),
    };
    audit::record(
        state,
        "dualconfirm.invitation_accepted",
        Some(caller.account.to_string()),
        Some(pair.id.clone()),
        Some(info),
        json!({"invitation": id}),
    )
    .await?;
    Ok(pair)
}

/// The advisor withdraws a pending invitation.
///
/// # Errors
/// Not a pending invitation of the caller ([`ServiceError::NotFound`]); storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, invitation.id = %id))]
pub async fn cancel(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    info: &ClientInfo,
) -> Result<(), ServiceError> {
    let mine = state
        .store
        .invitations
        .get(id)
        .await?
        .is_some_and(|i| i.advisor == caller.account);
    if !mine
        || !state
            .store
            .invitations
            .close(id, InvitationStatus::Cancelled)
            .await?
    {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "dualconfirm.invitation_cancelled",
        Some(caller.account.to_string()),
        None,
        Some(info),
        json!({"invitation": id}),
    )
    .await
}

/// The client accepts a pair in status `invited` (made by an invitation before invitations
/// were kept apart from pairs).
///
/// # Errors
/// Not the pair's client; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, pair.id = %id))]
pub async fn accept(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    info: &ClientInfo,
) -> Result<PairRecord, ServiceError> {
    let (mut pair, side) = own(state, caller, id).await?;
    if side != portcullis_core::dualconfirm::Role::Client {
        return Err(ServiceError::Forbidden("only the invited client accepts"));
    }
    if pair.status == PairStatus::Invited {
        let now = state.now();
        state
            .store
            .pairs
            .set_status(id, PairStatus::Active, now)
            .await?;
        pair.status = PairStatus::Active;
        pair.updated_at = now;
        audit::record(
            state,
            "dualconfirm.invitation_accepted",
            Some(caller.account.to_string()),
            Some(pair.id.clone()),
            Some(info),
            json!({}),
        )
        .await?;
    }
    Ok(pair)
}
