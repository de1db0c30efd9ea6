//! Who verifies whom: pairs of an advisor and a client, made by an administrator (API, CLI)
//! or by an advisor's invitation that the client accepts. An advisor sees only their clients
//! and a client only their advisors.

use portcullis_core::dualconfirm::PairSecret;
use portcullis_core::dualconfirm::words::Language;
use portcullis_core::ids::AccountId;
use portcullis_store::model::{AccountRecord, AccountStatus, PairRecord, PairStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::extract::{AuthSession, ClientInfo};
use crate::services::dualconfirm::hub::PairKey;
use crate::services::error::{Invalid, ServiceError};
use crate::services::{accounts, audit};
use crate::state::AppState;

/// Role an account needs to be the advisor of a pair.
pub const ADVISOR_ROLE: &str = "advisor";
/// Role an account needs to be the client of a pair.
pub const CLIENT_ROLE: &str = "client";

/// Associated data sealing a pair's secret to its id.
fn secret_aad(pair_id: &str) -> Vec<u8> {
    format!("dualconfirm-pair:{pair_id}").into_bytes()
}

/// Opens a pair's secret.
///
/// # Errors
/// Keyring failure (a tampered or foreign blob).
pub fn open_secret(state: &AppState, pair: &PairRecord) -> Result<PairSecret, ServiceError> {
    let bytes = Zeroizing::new(
        state
            .keyring()
            .open_secret(&pair.secret_sealed, &secret_aad(&pair.id))?,
    );
    let array: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::unexpected("a pair secret is not 32 bytes"))?;
    Ok(PairSecret::from_bytes(array))
}

/// What the pair's words are derived from: its unsealed secret and its word-list language.
///
/// # Errors
/// Keyring failure (a tampered or foreign blob).
pub fn key_of(state: &AppState, pair: &PairRecord) -> Result<PairKey, ServiceError> {
    Ok(PairKey {
        secret: open_secret(state, pair)?,
        language: pair.language.parse().unwrap_or(Language::En),
    })
}

/// One side of a pair as the other sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Account id.
    pub id: String,
    /// Display name, else the e-mail address.
    pub name: String,
}

/// A pair as one of its sides (or an administrator) sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PairView {
    /// Pair id.
    pub id: String,
    /// The advisor.
    pub advisor: PartyView,
    /// The client.
    pub client: PartyView,
    /// `invited` or `active`.
    pub status: String,
    /// Word-list language: `en` or `fr`.
    pub language: String,
    /// Unix seconds.
    pub created_at: i64,
}

async fn party(state: &AppState, id: AccountId) -> Result<PartyView, ServiceError> {
    let name = match state.store.accounts.get(id).await? {
        Some(a) if a.status != AccountStatus::Deleted => {
            let p = accounts::profile(state, &a).await?;
            p.display_name.unwrap_or(p.email)
        }
        _ => "(deleted account)".to_owned(),
    };
    Ok(PartyView {
        id: id.to_string(),
        name,
    })
}

/// The pair as shown to callers.
///
/// # Errors
/// Storage or keyring failure.
#[tracing::instrument(skip_all, fields(pair.id = %p.id))]
pub async fn view(state: &AppState, p: &PairRecord) -> Result<PairView, ServiceError> {
    Ok(PairView {
        id: p.id.clone(),
        advisor: party(state, p.advisor).await?,
        client: party(state, p.client).await?,
        status: p.status.as_str().to_owned(),
        language: p.language.clone(),
        created_at: p.created_at,
    })
}

fn require_role(account: &AccountRecord, role: &'static str) -> Result<(), ServiceError> {
    if account.status == AccountStatus::Active && account.roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            Invalid::NotEligible,
            match role {
                ADVISOR_ROLE => "the advisor must be an active account with the advisor role",
                _ => "the client must be an active account with the client role",
            },
        ))
    }
}

async fn account(state: &AppState, id: AccountId) -> Result<AccountRecord, ServiceError> {
    state
        .store
        .accounts
        .get(id)
        .await?
        .ok_or(ServiceError::invalid(
            Invalid::UnknownAccount,
            "no such account",
        ))
}

async fn insert(
    state: &AppState,
    advisor: AccountId,
    client: AccountId,
    language: Language,
    status: PairStatus,
    created_by: String,
) -> Result<PairRecord, ServiceError> {
    let now = state.now();
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        now.max(0) as u64,
        0,
    ))
    .simple()
    .to_string();
    let secret = PairSecret::generate(state.entropy.as_ref());
    let sealed = state
        .keyring()
        .seal_secret(secret.expose(), &secret_aad(&id))?;
    let record = PairRecord {
        id,
        advisor,
        client,
        secret_sealed: sealed,
        status,
        language: language.as_str().to_owned(),
        created_by,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .pairs
        .create(&record)
        .await
        .map_err(|e| match e {
            portcullis_store::StoreError::Conflict(_) => {
                ServiceError::Conflict("this advisor and client are already paired")
            }
            other => other.into(),
        })?;
    Ok(record)
}

/// Pairs `advisor` with `client` (an administrator's act, from the API or the CLI).
///
/// # Errors
/// Accounts without the roles, an existing pair, storage failure.
#[tracing::instrument(skip_all, fields(advisor.id = %advisor, client.id = %client))]
pub async fn create(
    state: &AppState,
    advisor: AccountId,
    client: AccountId,
    language: Language,
    actor: String,
    info: Option<&ClientInfo>,
) -> Result<PairRecord, ServiceError> {
    require_role(&account(state, advisor).await?, ADVISOR_ROLE)?;
    require_role(&account(state, client).await?, CLIENT_ROLE)?;
    let record = insert(
        state,
        advisor,
        client,
        language,
        PairStatus::Active,
        actor.clone(),
    )
    .await?;
    audit::record(
        state,
        "dualconfirm.pair_created",
        Some(actor),
        Some(record.id.clone()),
        info,
        json!({"advisor": advisor.to_string(), "client": client.to_string()}),
    )
    .await?;
    Ok(record)
}

/// An advisor invites the client with this e-mail address. The answer is the same whether
/// or not such a client exists (no enumeration); the client sees the invitation among their
/// pairs and accepts it.
///
/// # Errors
/// The caller is not an advisor; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account))]
pub async fn invite(
    state: &AppState,
    caller: &AuthSession,
    client_email: &str,
    language: Language,
    info: &ClientInfo,
) -> Result<(), ServiceError> {
    if !caller.has_role(ADVISOR_ROLE) {
        return Err(ServiceError::Forbidden("only advisors invite clients"));
    }
    let Ok(email) = portcullis_core::contact::Email::parse(client_email) else {
        return Err(ServiceError::invalid(
            Invalid::Email,
            "client_email is not an e-mail address",
        ));
    };
    let index = portcullis_store::pii::email_index(&state.keyring(), email.as_str());
    let found = state.store.accounts.find_by_email_index(&index).await?;
    let eligible = found
        .filter(|a| a.status == AccountStatus::Active && a.roles.iter().any(|r| r == CLIENT_ROLE));
    let mut outcome = "no_eligible_client";
    if let Some(client) = eligible {
        match insert(
            state,
            caller.account,
            client.id,
            language,
            PairStatus::Invited,
            format!("advisor:{}", caller.account),
        )
        .await
        {
            Ok(_) => outcome = "invited",
            Err(ServiceError::Conflict(_)) => outcome = "already_paired",
            Err(e) => return Err(e),
        }
    }
    audit::record(
        state,
        "dualconfirm.invitation",
        Some(caller.account.to_string()),
        None,
        Some(info),
        json!({"outcome": outcome}),
    )
    .await
}

/// The pairs `caller` may see: an administrator all, an advisor theirs, a client theirs.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account))]
pub async fn visible_to(
    state: &AppState,
    caller: &AuthSession,
) -> Result<Vec<PairRecord>, ServiceError> {
    if caller.has_role("admin") {
        return Ok(state.store.pairs.list().await?);
    }
    let mut pairs = Vec::new();
    if caller.has_role(ADVISOR_ROLE) {
        pairs.extend(state.store.pairs.of_advisor(caller.account).await?);
    }
    if caller.has_role(CLIENT_ROLE) {
        pairs.extend(state.store.pairs.of_client(caller.account).await?);
    }
    Ok(pairs)
}

/// Which side of `pair` the caller is on, if any (by account and role).
pub fn side_of(
    pair: &PairRecord,
    caller: &AuthSession,
) -> Option<portcullis_core::dualconfirm::Role> {
    use portcullis_core::dualconfirm::Role;
    if pair.advisor == caller.account && caller.has_role(ADVISOR_ROLE) {
        Some(Role::Advisor)
    } else if pair.client == caller.account && caller.has_role(CLIENT_ROLE) {
        Some(Role::Client)
    } else {
        None
    }
}

/// The pair, if the caller is one of its sides (else 404: others' pairs do not exist for
/// them).
///
/// # Errors
/// [`ServiceError::NotFound`]; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, pair.id = %id))]
pub async fn own(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
) -> Result<(PairRecord, portcullis_core::dualconfirm::Role), ServiceError> {
    let pair = state
        .store
        .pairs
        .get(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let side = side_of(&pair, caller).ok_or(ServiceError::NotFound)?;
    Ok((pair, side))
}

/// The client accepts an advisor's invitation.
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

/// Either side changes the pair's word-list language.
///
/// # Errors
/// Not a side of the pair; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, pair.id = %id))]
pub async fn set_language(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    language: Language,
) -> Result<PairRecord, ServiceError> {
    let (mut pair, _) = own(state, caller, id).await?;
    let now = state.now();
    state
        .store
        .pairs
        .set_language(id, language.as_str(), now)
        .await?;
    pair.language = language.as_str().to_owned();
    pair.updated_at = now;
    state.dualconfirm.forget_pair(id);
    Ok(pair)
}

/// Removes a pair: an administrator, the CLI (`actor` = `cli`) or either side.
///
/// # Errors
/// Unknown pair (or not the caller's); storage failure.
#[tracing::instrument(skip_all, fields(pair.id = %id))]
pub async fn remove(
    state: &AppState,
    id: &str,
    actor: String,
    info: Option<&ClientInfo>,
) -> Result<(), ServiceError> {
    if !state.store.pairs.delete(id).await? {
        return Err(ServiceError::NotFound);
    }
    state.dualconfirm.forget_pair(id);
    audit::record(
        state,
        "dualconfirm.pair_removed",
        Some(actor),
        Some(id.to_owned()),
        info,
        json!({}),
    )
    .await
}
