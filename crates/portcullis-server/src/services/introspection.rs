//! RFC 7662 introspection: whether an access token is active, for callers allowed to ask.

use portcullis_core::token::AccessClaims;
use portcullis_store::model::ClientRecord;

use crate::auth::{self, AuthCheck, Caller};
use crate::services::ServiceError;
use crate::services::clients::{self, INTROSPECT_SCOPE};
use crate::state::AppState;

/// What an active token is.
#[derive(Debug)]
pub enum Active {
    /// A user's token, its session live.
    Session(AccessClaims),
    /// A service account's token, the account still active.
    Client(AccessClaims, ClientRecord),
}

/// Proof that a caller may introspect; only [`authorize`] makes one.
#[derive(Debug)]
pub struct Introspector(());

/// Whether `caller` may introspect (see [`check`]).
///
/// # Errors
/// [`ServiceError::Forbidden`] for a caller not allowed to.
pub fn authorize(state: &AppState, caller: &Caller) -> Result<Introspector, ServiceError> {
    check(state).allows(caller)?;
    Ok(Introspector(()))
}

/// Who may introspect: a session holding one of `introspection_roles` (RFC 7662 §4: the
/// endpoint must not let any user scan other people's tokens), or a service account allowed
/// `portcullis:introspect`.
fn check(state: &AppState) -> AuthCheck<'_> {
    AuthCheck::new("introspection is for services and administrators")
        .session_with_configured_role(&state.config.introspection_roles)
        .client_with_scope(
            INTROSPECT_SCOPE,
            "this client may not introspect: it lacks the portcullis:introspect scope",
        )
}

/// Whether `token` is active: its signature and lifetime (judged by our own clock, without
/// leeway) and a live session or an active client behind it; `None` when it is not.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all)]
pub async fn introspect(
    state: &AppState,
    _introspector: &Introspector,
    token: &str,
) -> Result<Option<Active>, ServiceError> {
    if let Ok(claims) = auth::verify_token(state, token, 0)
        && clients::client_of(&claims).is_some()
    {
        return match clients::verify_client_token(state, token, 0).await {
            Ok((claims, client)) => Ok(Some(Active::Client(claims, client))),
            Err(ServiceError::Unauthenticated(_)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    // A DPoP-bound token is introspected like any other: the resource server asking checks
    // the proof itself, against the `cnf` it is told.
    let Ok(claims) = auth::verify_token(state, token, 0) else {
        return Ok(None);
    };
    match auth::session_of(state, claims).await {
        Ok((session, _)) => Ok(Some(Active::Session(session.claims))),
        Err(ServiceError::Unauthenticated(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
