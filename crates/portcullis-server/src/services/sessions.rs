//! Issuing sessions and tokens, refreshing them, and ending them.

use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::login::Assurance;
use portcullis_core::secret::OpaqueToken;
use portcullis_core::token::AccessClaims;
use portcullis_store::model::{AccountRecord, AccountStatus, RefreshOutcome, SessionRecord};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::cluster;
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::audit;
use crate::state::AppState;

/// OAuth-style token response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token (EdDSA).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque refresh token; single use. Absent after a step-up: the session's refresh
    /// token stays valid and now yields tokens at the raised assurance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The session both tokens belong to.
    pub session_id: String,
}

/// Signs an access token for `session`.
///
/// # Errors
/// Signing failure.
pub fn access_token(
    state: &AppState,
    roles: &[String],
    session: &SessionRecord,
) -> Result<String, ServiceError> {
    let now = state.now();
    let exp = (now + state.config.tokens.access_ttl.as_secs_i64()).min(session.absolute_expires_at);
    let jti = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: session.account_id.to_string(),
        aud: state.config.audience.clone(),
        exp,
        iat: now,
        nbf: now,
        jti,
        sid: session.id.to_string(),
        acr: session.acr.clone(),
        amr: session.amr.clone(),
        roles: roles.to_vec(),
        auth_time: session.auth_time,
        scope: None,
    };
    Ok(state.keys().sign(&claims)?)
}

/// A new access token for an existing session, without a refresh token (after a step-up).
///
/// # Errors
/// Signing failure.
pub fn access_only(
    state: &AppState,
    roles: &[String],
    session: &SessionRecord,
) -> Result<TokenResponse, ServiceError> {
    let now = state.now();
    Ok(TokenResponse {
        access_token: access_token(state, roles, session)?,
        token_type: "Bearer",
        expires_in: session
            .absolute_expires_at
            .min(now + state.config.tokens.access_ttl.as_secs_i64())
            - now,
        refresh_token: None,
        session_id: session.id.to_string(),
    })
}

/// Creates a session for a completed login and returns its first tokens.
///
/// # Errors
/// Storage or signing failure.
#[tracing::instrument(skip_all, fields(account.id = %account.id))]
pub async fn issue(
    state: &AppState,
    account: &AccountRecord,
    assurance: Assurance,
    amr: Vec<String>,
    client: &ClientInfo,
) -> Result<TokenResponse, ServiceError> {
    let now = state.now();
    let t = &state.config.tokens;
    let absolute = now + t.session_absolute.as_secs_i64();
    let session = SessionRecord {
        id: SessionId::new(state.clock.now_millis(), state.random::<10>()),
        account_id: account.id,
        acr: assurance.acr().to_owned(),
        amr,
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: (now + t.session_idle.as_secs_i64()).min(absolute),
        absolute_expires_at: absolute,
        revoked_at: None,
        user_agent: client.user_agent.clone(),
        ip: client.ip.map(|ip| ip.to_string()),
    };
    let refresh = OpaqueToken::generate(state.entropy.as_ref());
    let refresh_expires = (now + t.refresh_ttl.as_secs_i64()).min(absolute);
    state
        .store
        .sessions
        .create(&session, &refresh.hash(), refresh_expires)
        .await?;
    let access = access_token(state, &account.roles, &session)?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: (session
            .absolute_expires_at
            .min(now + t.access_ttl.as_secs_i64()))
            - now,
        refresh_token: Some(refresh.expose().to_owned()),
        session_id: session.id.to_string(),
    })
}

/// Spends a refresh token and returns new tokens. A spent token revokes its session.
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for unknown, expired, reused tokens or ended sessions.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: &AppState,
    presented: &str,
    client: &ClientInfo,
) -> Result<TokenResponse, ServiceError> {
    let invalid = ServiceError::Unauthenticated("the refresh token is not valid");
    let Some(old) = OpaqueToken::parse(presented) else {
        return Err(invalid);
    };
    let now = state.now();
    let t = &state.config.tokens;
    let new = OpaqueToken::generate(state.entropy.as_ref());
    let outcome = state
        .store
        .sessions
        .rotate_refresh(
            &old.hash(),
            &new.hash(),
            now,
            t.session_idle.as_secs_i64(),
            now + t.refresh_ttl.as_secs_i64(),
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated(session) => {
            let account = state.store.accounts.get(session.account_id).await?;
            let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
                state
                    .store
                    .sessions
                    .revoke(session.id, "account_inactive", now)
                    .await?;
                cluster::revocations_changed(state).await;
                return Err(invalid);
            };
            let access = access_token(state, &account.roles, &session)?;
            audit::record(
                state,
                "token.refreshed",
                Some(account.id.to_string()),
                Some(session.id.to_string()),
                Some(client),
                json!({}),
            )
            .await?;
            metrics::counter!("portcullis_token_refresh_total", "outcome" => "rotated")
                .increment(1);
            Ok(TokenResponse {
                access_token: access,
                token_type: "Bearer",
                expires_in: (session
                    .absolute_expires_at
                    .min(now + t.access_ttl.as_secs_i64()))
                    - now,
                refresh_token: Some(new.expose().to_owned()),
                session_id: session.id.to_string(),
            })
        }
        RefreshOutcome::Reused(sid) => {
            cluster::revocations_changed(state).await;
            let owner = state
                .store
                .sessions
                .get(sid)
                .await?
                .map(|s| s.account_id.to_string());
            audit::record(
                state,
                "token.reuse_detected",
                owner,
                Some(sid.to_string()),
                Some(client),
                json!({"action": "session_revoked"}),
            )
            .await?;
            metrics::counter!("portcullis_token_refresh_total", "outcome" => "reuse").increment(1);
            tracing::warn!(session = %sid, "refresh token reuse detected; session revoked");
            Err(invalid)
        }
        RefreshOutcome::Invalid => {
            metrics::counter!("portcullis_token_refresh_total", "outcome" => "invalid")
                .increment(1);
            Err(invalid)
        }
    }
}

/// Ends one session of `account`.
///
/// # Errors
/// [`ServiceError::NotFound`] when the session is not the account's.
#[tracing::instrument(skip_all, fields(account.id = %account, session.id = %session))]
pub async fn revoke(
    state: &AppState,
    account: AccountId,
    session: SessionId,
    reason: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let record = state.store.sessions.get(session).await?;
    match record {
        Some(s) if s.account_id == account => {
            state
                .store
                .sessions
                .revoke(session, reason, state.now())
                .await?;
            cluster::revocations_changed(state).await;
            audit::record(
                state,
                "session.revoked",
                Some(account.to_string()),
                Some(session.to_string()),
                Some(client),
                json!({"reason": reason}),
            )
            .await
        }
        _ => Err(ServiceError::NotFound),
    }
}

/// Ends every session of `account` except `keep`; returns how many ended.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn revoke_all(
    state: &AppState,
    account: AccountId,
    keep: Option<SessionId>,
    reason: &str,
    client: &ClientInfo,
) -> Result<u64, ServiceError> {
    let n = state
        .store
        .sessions
        .revoke_all(account, keep, reason, state.now())
        .await?;
    cluster::revocations_changed(state).await;
    audit::record(
        state,
        "session.revoked_all",
        Some(account.to_string()),
        None,
        Some(client),
        json!({"reason": reason, "count": n}),
    )
    .await?;
    Ok(n)
}
