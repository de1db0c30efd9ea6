//! A pair's record and its sealed secret: minting a record (its secret generated and sealed
//! to its id), opening the secret again to derive the pair's words, and the view of a pair
//! that its sides and administrators are shown. Everything that touches the secret lives
//! here, so the sealing and the opening cannot drift apart.

use portcullis_core::dualconfirm::PairSecret;
use portcullis_core::dualconfirm::words::Language;
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
