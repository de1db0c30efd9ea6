//! RFC 7009 token revocation: a client allowed the revoke scope ends the session behind a
//! refresh token or a user's access token, answering the same whether or not the token
//! meant anything (so the endpoint tells nothing about tokens it does not know).

use portcullis_core::secret::OpaqueToken;
use serde_json::json;

use super::{OAuthError, REVOKE_SCOPE, SUBJECT_PREFIX};
use crate::auth::{AuthCheck, Caller, ids_of, verify_token};
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::state::AppState;

/// RFC 7009: ends the session behind a refresh token or a user's access token. Unknown,
/// invalid and client tokens are ignored (the answer is the same either way).
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    token: &str,
    info: &ClientInfo,
) -> Result<(), OAuthError> {
    const REFUSAL: &str = "this client may not revoke tokens: it lacks the portcullis:revoke scope";
    AuthCheck::new(REFUSAL)
        .client_with_scope(REVOKE_SCOPE, REFUSAL)
        .allows(caller)
        .map_err(|_| OAuthError::UnauthorizedClient(REFUSAL))?;
    let actor = match caller {
        Caller::Client { client, .. } => format!("{SUBJECT_PREFIX}{}", client.id),
        Caller::Session(session) => session.account.to_string(),
    };
    let session = if let Some(refresh) = OpaqueToken::parse(token) {
        state
            .store
            .clients
            .session_of_refresh(&refresh.hash())
            .await?
    } else {
        match verify_token(state, token, state.config.tokens.leeway.as_secs_i64()) {
            Ok(claims) => ids_of(&claims).ok().map(|(_, s)| s),
            Err(_) => None,
        }
    };
    let Some(session) = session else {
        return Ok(());
    };
    if state
        .store
        .sessions
        .revoke(session, "revoked_by_client", state.now())
        .await?
    {
        crate::cluster::revocations_changed(state).await;
        audit::record(
            state,
            "session.revoked",
            Some(actor),
            Some(session.to_string()),
            Some(info),
            json!({"reason": "revoked_by_client"}),
        )
        .await?;
    }
    Ok(())
}
