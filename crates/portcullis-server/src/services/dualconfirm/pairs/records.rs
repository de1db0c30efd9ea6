//! A pair's record and its sealed secret: minting a record (its secret generated and sealed
//! to its id), opening the secret again to derive the pair's words, and the view of a pair
//! that its sides and administrators are shown. Everything that touches the secret lives
//! here, so the sealing and the opening cannot drift apart.

use portcullis_core::dualconfirm::words::Language;
use portcullis_core::dualconfirm::{PairSecret, Role};
use portcullis_core::ids::AccountId;
use portcullis_store::model::{AccountStatus, PairRecord, PairStatus};
use serde::Serialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::services::accounts;
use crate::services::dualconfirm::hub::PairKey;
use crate::services::error::ServiceError;
use crate::state::AppState;

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

/// Stores a new pair with a fresh secret, sealed to its id; an existing pair of the same
/// advisor and client is a [`ServiceError::Conflict`].
pub(super) async fn insert(
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
        advisor_name_sealed: None,
        client_name_sealed: None,
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

/// Associated data sealing the name an administrator set for side `role` of a pair.
fn name_aad(pair_id: &str, role: Role) -> Vec<u8> {
    format!("dualconfirm-pair-name:{pair_id}:{}", role.as_str()).into_bytes()
}

/// Seals `name` for side `role` of pair `pair_id`.
///
/// # Errors
/// Keyring failure.
pub(super) fn seal_name(
    state: &AppState,
    pair_id: &str,
    role: Role,
    name: &str,
) -> Result<Vec<u8>, ServiceError> {
    Ok(state
        .keyring()
        .seal_secret(name.as_bytes(), &name_aad(pair_id, role))?)
}

/// The name an administrator set for side `role` of `pair`, if any.
fn open_name(
    state: &AppState,
    pair: &PairRecord,
    role: Role,
) -> Result<Option<String>, ServiceError> {
    let sealed = match role {
        Role::Advisor => &pair.advisor_name_sealed,
        Role::Client => &pair.client_name_sealed,
    };
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(
        state
            .keyring()
            .open_secret(sealed, &name_aad(&pair.id, role))?,
    );
    String::from_utf8(bytes.to_vec())
        .map(Some)
        .map_err(|_| ServiceError::unexpected("a sealed pair name is not text"))
}

/// One side of a pair (or the advisor of an invitation) as the other sees it. `name` is the
/// identity to rely on: a name an administrator set, else the account's e-mail address. The
/// display name an account chose for itself vouches for nothing (anyone may call themselves
/// "Your bank's security team"), so it is only `own_label`, to be shown as such if at all.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Account id.
    pub id: String,
    /// The verified identity: the name an administrator set, else the e-mail address.
    pub name: String,
    /// Who vouches for `name`: `administrator` (a name set for this pair) or `email` (the
    /// account's e-mail address).
    pub verified_by: &'static str,
    /// The account's e-mail address (none for a deleted account).
    pub email: Option<String>,
    /// The display name the account gave itself: its own label, not verified.
    pub own_label: Option<String>,
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

/// How account `id` is shown, with `admin_name` (a name an administrator set) if any.
pub(super) async fn party(
    state: &AppState,
    id: AccountId,
    admin_name: Option<String>,
) -> Result<PartyView, ServiceError> {
    let (email, own_label) = match state.store.accounts.get(id).await? {
        Some(a) if a.status != AccountStatus::Deleted => {
            let p = accounts::profile(state, &a).await?;
            (Some(p.email), p.display_name)
        }
        _ => (None, None),
    };
    let (name, verified_by) = match (admin_name, &email) {
        (Some(name), _) => (name, "administrator"),
        (None, Some(email)) => (email.clone(), "email"),
        (None, None) => ("(deleted account)".to_owned(), "email"),
    };
    Ok(PartyView {
        id: id.to_string(),
        name,
        verified_by,
        email,
        own_label,
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
        advisor: party(state, p.advisor, open_name(state, p, Role::Advisor)?).await?,
        client: party(state, p.client, open_name(state, p, Role::Client)?).await?,
        status: p.status.as_str().to_owned(),
        language: p.language.clone(),
        created_at: p.created_at,
    })
}
