//! The life of a factor that every kind shares: a pending factor stored and audited, its
//! confirmation or refusal counted and audited, and its removal.
//!
//! A kind's own file decides what to seal with the pending factor and how the first proof is
//! checked; these functions do the rest the same way for all, so the audit log and the
//! `portcullis_factor_events_total` counter read alike whatever the kind.

use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use portcullis_store::model::FactorRecord;
use serde_json::json;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::factors::{authorise, secret_aad};
use crate::services::{accounts, audit};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

/// A factor about to be enrolled.
pub(crate) struct NewFactor<'a> {
    /// Its kind.
    pub kind: FactorKind,
    /// The checked label ([`super::check_label`]).
    pub label: String,
    /// What to seal with the account's data key: a secret, a phone number, a ceremony state.
    pub secret: Option<&'a [u8]>,
}

/// Starts an enrolment: stores `new` as a pending factor (replacing an abandoned one of the
/// same kind), runs `deliver` on it (what the kind sends so that it can be confirmed, such
/// as a code; nothing for most kinds), and audits the start once that went through.
///
/// # Errors
/// Storage or keyring failure, or whatever `deliver` fails with (the pending factor then
/// stays, to be replaced by the next attempt).
pub(crate) async fn enrol<T>(
    state: &AppState,
    account: AccountId,
    new: NewFactor<'_>,
    client: &ClientInfo,
    deliver: impl AsyncFnOnce(&FactorRecord) -> Result<T, ServiceError>,
) -> Result<(FactorRecord, T), ServiceError> {
    let record = insert_pending(state, account, new).await?;
    let delivered = deliver(&record).await?;
    audit::record(
        state,
        "factor.enrolment_started",
        Some(account.to_string()),
        Some(record.id.clone()),
        Some(client),
        json!({"kind": record.kind}),
    )
    .await?;
    Ok((record, delivered))
}

async fn insert_pending(
    state: &AppState,
    account: AccountId,
    new: NewFactor<'_>,
) -> Result<FactorRecord, ServiceError> {
    let now = state.now();
    // An abandoned enrolment is replaced, not kept forever.
    state
        .store
        .factors
        .delete_unconfirmed(account, new.kind, now + 1)
        .await?;
    let id = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let secret_ct = match new.secret {
        Some(bytes) => Some(
            accounts::data_key(state, account)
                .await?
                .encrypt(bytes, &secret_aad(&id))?,
        ),
        None => None,
    };
    let record = FactorRecord {
        id,
        account_id: account,
        kind: new.kind,
        label: new.label,
        secret_ct,
        last_step: None,
        created_at: now,
        confirmed_at: None,
        last_used_at: None,
    };
    state.store.factors.insert(&record).await?;
    Ok(record)
}

/// What confirming a pending factor stores.
pub(crate) enum Proof<'a> {
    /// The time step the first code was accepted in (0 for a sent code), at `now`.
    Step(i64, i64),
    /// A sealed secret that replaces the pending one (a passkey's credential), at `now`.
    Secret(&'a [u8], i64),
}

/// Confirms the pending factor `f` with `proof`, then counts and audits the enrolment.
///
/// # Errors
/// [`ServiceError::Conflict`] when a concurrent confirmation won; storage failure.
pub(crate) async fn confirmed(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    proof: Proof<'_>,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let factors = &state.store.factors;
    let won = match proof {
        Proof::Step(step, now) => factors.confirm(&f.id, account, step, now).await?,
        Proof::Secret(sealed, now) => {
            factors
                .confirm_with_secret(&f.id, account, sealed, now)
                .await?
        }
    };
    if !won {
        return Err(ServiceError::Conflict(
            "the factor was confirmed concurrently",
        ));
    }
    record_end(state, account, f, true, client).await
}

/// Counts and audits a failed confirmation of the pending factor `f`.
///
/// # Errors
/// The audit log could not be written.
pub(crate) async fn refused(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    record_end(state, account, f, false, client).await
}

async fn record_end(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    confirmed: bool,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let (metric, event) = if confirmed {
        ("enrolled", "factor.enrolled")
    } else {
        ("confirm_failed", "factor.confirm_failed")
    };
    metrics::counter!("portcullis_factor_events_total", "kind" => f.kind.as_str(), "event" => metric)
        .increment(1);
    audit::record(
        state,
        event,
        Some(account.to_string()),
        Some(f.id.clone()),
        Some(client),
        json!({ "kind": f.kind }),
    )
    .await
}

/// `DELETE /v1/me/factors/{id}`: needs a recent authentication at the account's level.
///
/// # Errors
/// A session that authenticated too long ago or below the account's level, or an unknown
/// factor.
#[tracing::instrument(skip_all, fields(account.id = %auth.account, factor.id = %id))]
pub async fn remove(
    state: &AppState,
    auth: &AuthSession,
    id: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    authorise(state, auth, FactorChange::Remove).await?;
    let factors = state.store.factors.list(auth.account).await?;
    let f = factors
        .iter()
        .find(|f| f.id == id)
        .ok_or(ServiceError::NotFound)?;
    let kind = f.kind;
    if kind == FactorKind::Wallet {
        super::wallet::before_removal(state, auth.account, f).await?;
    }
    if !state.store.factors.delete(id, auth.account).await? {
        return Err(ServiceError::NotFound);
    }
    metrics::counter!("portcullis_factor_events_total", "kind" => kind.as_str(), "event" => "removed")
        .increment(1);
    audit::record(
        state,
        "factor.removed",
        Some(auth.account.to_string()),
        Some(id.to_owned()),
        Some(client),
        json!({}),
    )
    .await
}
