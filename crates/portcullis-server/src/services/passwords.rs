//! Password hashing off the async runtime, bounded by a semaphore.

use portcullis_core::password::{Password, PasswordHash, Verification};

use crate::error::ApiError;
use crate::state::AppState;

/// Hashes with a fresh salt.
///
/// # Errors
/// Hashing failure.
pub async fn hash(state: &AppState, password: Password) -> Result<PasswordHash, ApiError> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .map_err(|_| ApiError::Internal("hash permits closed".into()))?;
    let salt = state.random::<16>();
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password, salt))
        .await
        .map_err(|e| ApiError::Internal(format!("hash task: {e}")))?
        .map_err(ApiError::from)
}

/// Verifies against `stored`, or against a dummy hash when there is no account, so both cost
/// the same. Returns `None` for the dummy case.
///
/// # Errors
/// Hashing failure or a malformed stored hash.
pub async fn verify(
    state: &AppState,
    password: Password,
    stored: Option<PasswordHash>,
) -> Result<Option<Verification>, ApiError> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .map_err(|_| ApiError::Internal("hash permits closed".into()))?;
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || match stored {
        Some(h) if !h.as_phc().is_empty() => hasher.verify(&password, &h).map(Some),
        _ => {
            hasher.dummy_verify(&password);
            Ok(None)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verify task: {e}")))?
    .map_err(ApiError::from)
}
