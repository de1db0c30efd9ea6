//! Reading the ledgers: signed heads, proofs and entries, for anyone who wants to check that
//! an entry is in a ledger and that the ledger only grew.
//!
//! Everything here is public except the audit ledger's entries: its heads and proofs say
//! nothing about who did what, its entries do, so they are read through
//! [`audit_entries`], which only an administrator reaches.

use portcullis_ledger::entry::Encoded;
use portcullis_ledger::{HeadRow, InclusionProof, Ledger, LedgerName};

use crate::services::error::Invalid;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Most entries in one page.
pub const MAX_PAGE: i64 = 1000;

/// The ledger named `name`, or not found.
///
/// # Errors
/// [`ServiceError::NotFound`] for a name that is no ledger.
pub fn ledger<'s>(state: &'s AppState, name: &str) -> ServiceResult<&'s Ledger> {
    let name: LedgerName = name.parse().map_err(|_| ServiceError::NotFound)?;
    Ok(state.ledgers().get(name))
}

/// The latest signed head.
///
/// # Errors
/// Storage failures.
pub async fn head(ledger: &Ledger) -> ServiceResult<HeadRow> {
    Ok(ledger.head().await?)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (default: the head's).
///
/// # Errors
/// [`ServiceError::Invalid`] (`LedgerRange`) for an index or size out of range.
pub async fn inclusion(
    ledger: &Ledger,
    index: u64,
    size: Option<u64>,
) -> ServiceResult<InclusionProof> {
    let size = match size {
        Some(size) => size,
        None => ledger.head().await?.size,
    };
    Ok(ledger.inclusion_proof(index, size).await?)
}

/// The consistency proof between two sizes (`new` defaults to the head's).
///
/// # Errors
/// [`ServiceError::Invalid`] (`LedgerRange`) for sizes out of range.
pub async fn consistency(
    ledger: &Ledger,
    old: u64,
    new: Option<u64>,
) -> ServiceResult<(u64, Vec<[u8; 32]>)> {
    let new = match new {
        Some(new) => new,
        None => ledger.head().await?.size,
    };
    Ok((new, ledger.consistency_proof(old, new).await?))
}

/// A page of a token ledger's entries.
///
/// # Errors
/// [`ServiceError::Forbidden`] for the audit ledger (see [`audit_entries`]).
pub async fn entries(ledger: &Ledger, from: u64, limit: i64) -> ServiceResult<Vec<Encoded>> {
    if !ledger.name().holds_tokens() {
        return Err(ServiceError::Forbidden(
            "the audit ledger's entries are for administrators (/v1/admin/ledgers/audit/entries)",
        ));
    }
    Ok(ledger.entries(from, page_limit(limit)?).await?)
}

/// `limit` if it is 1 to [`MAX_PAGE`].
fn page_limit(limit: i64) -> ServiceResult<i64> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ServiceError::invalid(
            Invalid::LedgerRange,
            "limit must be 1 to 1000",
        ))
    }
}

/// A page of the audit ledger's entries; the caller is an administrator (the route's
/// extractor made sure).
///
/// # Errors
/// Storage failures.
pub async fn audit_entries(state: &AppState, from: u64, limit: i64) -> ServiceResult<Vec<Encoded>> {
    Ok(state
        .ledgers()
        .audit
        .ledger()
        .entries(from, page_limit(limit)?)
        .await?)
}
