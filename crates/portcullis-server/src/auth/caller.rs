//! Finding the [`Caller`] behind a request's credentials: a bearer access token (a user's
//! session or a service account's client-credentials token) or a service account's own
//! credentials (HTTP Basic).

use super::check::Caller;
use super::dpop::{Presented, check_presentation};
use super::token::{session_of, verify_token};
use crate::config::DurationExt as _;
use crate::services::ServiceError;
use crate::services::clients::{self, ClientCredentials, OAuthError};
use crate::state::AppState;

/// The caller behind an access token (bearer, or DPoP with its proof), verified with the configured clock-skew leeway.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for a bad or expired token, an ended session or a client
/// that is no longer active; storage failure.
pub async fn bearer_caller(
    state: &AppState,
    presented: Presented<'_>,
    method: &str,
    uri: &str,
) -> Result<Caller, ServiceError> {
    let claims = verify_token(
        state,
        presented.token(),
        state.config.tokens.leeway.as_secs_i64(),
    )?;
    check_presentation(state, &claims, presented, method, uri)?;
    if clients::client_of(&claims).is_some() {
        let client = clients::active_client_of(state, &claims).await?;
        return Ok(Caller::Client {
            client,
            token_scopes: Some(claims.scope.unwrap_or_default()),
        });
    }
    let (session, _) = session_of(state, claims).await?;
    Ok(Caller::Session(session))
}

/// The service account that presented its own credentials.
///
/// # Errors
/// [`OAuthError::InvalidClient`] for wrong credentials or an inactive client; storage failure.
pub async fn client_caller(
    state: &AppState,
    creds: &ClientCredentials,
) -> Result<Caller, OAuthError> {
    let client = clients::authenticate(state, creds).await?;
    Ok(Caller::Client {
        client,
        token_scopes: None,
    })
}
