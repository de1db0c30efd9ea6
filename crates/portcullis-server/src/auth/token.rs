//! From an access token to a verified caller: the signature, issuer, audience and lifetime,
//! then (for a user's token) the session behind it, which must still be live.

use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::token::{AccessClaims, Expectation};
use portcullis_store::model::SessionRecord;

use super::dpop::{Presented, check_presentation};
use crate::config::DurationExt as _;
use crate::services::{ServiceError, wallet_sessions};
use crate::state::AppState;

/// A verified access token of a live session.
#[derive(Clone, Debug)]
pub struct AuthSession {
    /// The token's claims.
    pub claims: AccessClaims,
    /// Account.
    pub account: AccountId,
    /// Session.
    pub session: SessionId,
}

impl AuthSession {
    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.claims.roles.iter().any(|r| r == role)
    }
}

const INVALID_TOKEN: ServiceError = ServiceError::Unauthenticated("the access token is not valid");

/// Verifies an access token and that its session is still live.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for any bad, expired or revoked token.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthSession, ServiceError> {
    authenticate_with_leeway(state, token, state.config.tokens.leeway.as_secs_i64()).await
}

/// As [`authenticate`], with an explicit clock-skew allowance (introspection uses none: the
/// server's own clock decides).
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for any bad, expired or revoked token.
pub async fn authenticate_with_leeway(
    state: &AppState,
    token: &str,
    leeway_secs: i64,
) -> Result<AuthSession, ServiceError> {
    authenticate_session(state, token, leeway_secs)
        .await
        .map(|(session, _)| session)
}

/// As [`authenticate_with_leeway`], also returning the session as stored (its expiry
/// bounds how long the verification may be cached).
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for any bad, expired or revoked token.
pub async fn authenticate_session(
    state: &AppState,
    token: &str,
    leeway_secs: i64,
) -> Result<(AuthSession, SessionRecord), ServiceError> {
    let claims = verify_token(state, token, leeway_secs)?;
    if claims.cnf.is_some() {
        // A sender-constrained token is good only with its proof, which this path lacks.
        return Err(ServiceError::Unauthenticated(
            "this access token is bound to a key: present it as `Authorization: DPoP` with a DPoP proof",
        ));
    }
    session_of(state, claims).await
}

/// Verifies a token as the request presented it (bearer, or DPoP with its proof for
/// `method` and `uri`), then that its session is live.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] or [`ServiceError::Dpop`].
pub async fn authenticate_presented(
    state: &AppState,
    presented: Presented<'_>,
    method: &str,
    uri: &str,
) -> Result<(AuthSession, SessionRecord), ServiceError> {
    let claims = verify_token(
        state,
        presented.token(),
        state.config.tokens.leeway.as_secs_i64(),
    )?;
    check_presentation(state, &claims, presented, method, uri)?;
    session_of(state, claims).await
}

/// The live session behind claims [`verify_token`] accepted, for a caller that has verified
/// the token already.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] when the claims name no live session of their subject.
pub async fn session_of(
    state: &AppState,
    claims: AccessClaims,
) -> Result<(AuthSession, SessionRecord), ServiceError> {
    let (account, session) = ids_of(&claims)?;
    let record = state.store.sessions.get(session).await?;
    let record = match record {
        Some(s) if s.is_live(state.now()) && s.account_id == account => Some(s),
        _ => None,
    };
    // A wallet session lives only while its ReqNFT does (a lost presence burns it).
    let record = match record {
        Some(s) => match &s.wallet {
            Some(w) if !wallet_sessions::req_token_live(state, &w.req_token).await? => None,
            _ => Some(s),
        },
        None => None,
    };
    match record {
        Some(s) => Ok((
            AuthSession {
                claims,
                account,
                session,
            },
            s,
        )),
        _ => Err(ServiceError::Unauthenticated("the session has ended")),
    }
}

/// Verifies signature, issuer, audience and lifetime only (no session look-up).
///
/// # Errors
/// [`ServiceError::Unauthenticated`].
pub fn verify_token(
    state: &AppState,
    token: &str,
    leeway_secs: i64,
) -> Result<AccessClaims, ServiceError> {
    let expect = Expectation {
        issuer: &state.issuer,
        audience: &state.config.audience,
        leeway_secs,
    };
    state
        .keys()
        .verify(token, &expect, state.now())
        .map_err(|_| INVALID_TOKEN)
}

/// Account and session ids named by claims.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for unparsable ids.
pub fn ids_of(claims: &AccessClaims) -> Result<(AccountId, SessionId), ServiceError> {
    let account = claims.sub.parse().map_err(|_| INVALID_TOKEN)?;
    let session = claims.sid.parse().map_err(|_| INVALID_TOKEN)?;
    Ok((account, session))
}
