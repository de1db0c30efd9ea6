//! A caller's own pairs: which pairs they see, which side of a pair they are on, and what
//! a side (or an administrator) may change: the word-list language, or the pair's removal.
//! Others' pairs do not exist for a caller (404), so no answer tells whom others verify.

use portcullis_core::dualconfirm::words::Language;
use portcullis_store::model::PairRecord;
use serde_json::json;

use super::sides::{Sides, sides_of};
use crate::auth::{AuthCheck, AuthSession};
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::ServiceError;
use crate::state::AppState;

/// The pairs a caller with `sides` may see: an administrator all, an advisor theirs (once
/// accepted), a client theirs.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %sides.account))]
pub async fn visible_to(state: &AppState, sides: &Sides) -> Result<Vec<PairRecord>, ServiceError> {
    if sides.admin {
        return Ok(state.store.pairs.list().await?);
    }
    let mut pairs = Vec::new();
    if sides.advisor {
        let of_advisor = state.store.pairs.of_advisor(sides.account).await?;
        pairs.extend(
            of_advisor
                .into_iter()
                .filter(|p| sides.side_of(p).is_some()),
        );
    }
    if sides.client {
        pairs.extend(state.store.pairs.of_client(sides.account).await?);
    }
    Ok(pairs)
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
    let side = sides_of(state, caller)
        .await?
        .side_of(&pair)
        .ok_or(ServiceError::NotFound)?;
    Ok((pair, side))
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

/// Removes a pair for a caller: an administrator removes any pair, anyone else only a pair
/// they are a side of.
///
/// # Errors
/// Unknown pair, or not the caller's ([`ServiceError::NotFound`] either way); storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, pair.id = %id))]
pub async fn remove_as(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    info: &ClientInfo,
) -> Result<(), ServiceError> {
    let administrator = AuthCheck::new("not an administrator")
        .admin()
        .allows_session(caller)
        .is_ok();
    if !administrator {
        own(state, caller, id).await?;
    }
    remove(state, id, caller.account.to_string(), Some(info)).await
}

/// Removes a pair on behalf of `actor`, who was allowed to (an administrator, a side, or the
/// CLI with `actor` = `cli`).
///
/// # Errors
/// Unknown pair; storage failure.
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
