//! A client's access tokens once issued: telling one from a user's token by its subject,
//! and verifying that the client it names is still active (a removed or disabled client's
//! tokens stop working at once, whatever their lifetime).

use portcullis_core::token::AccessClaims;
use portcullis_store::model::{ClientRecord, ClientStatus};

use super::SUBJECT_PREFIX;
use crate::auth::verify_token;
use crate::services::error::ServiceError;
use crate::state::AppState;

/// The client a verified token was issued to, when it is a client token.
pub fn client_of(claims: &AccessClaims) -> Option<&str> {
    let id = claims.sub.strip_prefix(SUBJECT_PREFIX)?;
    (claims.sid == claims.sub).then_some(id)
}

/// Verifies a client's access token: signature, lifetime, and the client still active.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] when it is not a live client token; storage failure.
#[tracing::instrument(skip_all)]
pub async fn verify_client_token(
    state: &AppState,
    token: &str,
    leeway_secs: i64,
) -> Result<(AccessClaims, ClientRecord), ServiceError> {
    let claims = verify_token(state, token, leeway_secs)?;
    let client = active_client_of(state, &claims).await?;
    Ok((claims, client))
}

/// The still active client that verified `claims` were issued to.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] when they are not a client's, or the client is gone or
/// disabled; storage failure.
#[tracing::instrument(skip_all)]
pub async fn active_client_of(
    state: &AppState,
    claims: &AccessClaims,
) -> Result<ClientRecord, ServiceError> {
    let id = client_of(claims).ok_or(ServiceError::Unauthenticated("not a client token"))?;
    match state.store.clients.get(id).await? {
        Some(c) if c.status == ClientStatus::Active => Ok(c),
        _ => Err(ServiceError::Unauthenticated(
            "the client is no longer active",
        )),
    }
}
