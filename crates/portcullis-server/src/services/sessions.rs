//! Issuing sessions and tokens, refreshing them, and ending them.

use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::login::Assurance;
use portcullis_core::secret::OpaqueToken;
use portcullis_core::token::{AccessClaims, Confirmation};
use portcullis_store::model::{
    AccountRecord, AccountStatus, RefreshOutcome, SessionRecord, WalletBinding,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::cluster;
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::{audit, wallet_sessions};
use crate::state::AppState;

/// OAuth-style token response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token (EdDSA).
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a wallet session: its access token goes with a DPoP proof by
    /// the session key (`Authorization: DPoP <token>`, RFC 9449).
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
        cnf: session
            .wallet
            .as_ref()
            .and_then(|w| w.jkt.clone())
            .map(|jkt| Confirmation { jkt }),
    };
    Ok(state.keys().sign(&claims)?)
}

/// How the tokens of `session` are presented.
fn token_type(session: &SessionRecord) -> &'static str {
    match session.wallet.as_ref().and_then(|w| w.jkt.as_ref()) {
        Some(_) => "DPoP",
        None => "Bearer",
    }
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
        token_type: token_type(session),
        expires_in: session
            .absolute_expires_at
            .min(now + state.config.tokens.access_ttl.as_secs_i64())
            - now,
        refresh_token: None,
        session_id: session.id.to_string(),
    })
}

/// A fresh session id.
pub fn new_session_id(state: &AppState) -> SessionId {
    SessionId::new(state.clock.now_millis(), state.random::<10>())
}

/// Creates a session for a completed login and returns its first tokens.
///
/// # Errors
/// Storage or signing failure.
pub async fn issue(
    state: &AppState,
    account: &AccountRecord,
    assurance: Assurance,
    amr: Vec<String>,
    client: &ClientInfo,
) -> Result<TokenResponse, ServiceError> {
    let login = Login {
        id: new_session_id(state),
        assurance,
        amr,
        wallet: None,
    };
    issue_session(state, account, login, client).await
}

/// What a completed login makes a session of.
pub struct Login {
    /// The session's id (a wallet login names it in the ReqNFT before the session exists).
    pub id: SessionId,
    /// Assurance reached.
    pub assurance: Assurance,
    /// Methods used.
    pub amr: Vec<String>,
    /// For a wallet login: what its tokens are bound to, and the latest end its delegation
    /// allows.
    pub wallet: Option<(WalletBinding, i64)>,
}

/// Creates the session of `login` and returns its first tokens.
///
/// # Errors
/// Storage or signing failure.
#[tracing::instrument(skip_all, fields(account.id = %account.id, session.id = %login.id))]
pub async fn issue_session(
    state: &AppState,
    account: &AccountRecord,
    login: Login,
    client: &ClientInfo,
) -> Result<TokenResponse, ServiceError> {
    let Login {
        id,
        assurance,
        amr,
        wallet,
    } = login;
    let now = state.now();
    let t = &state.config.tokens;
    let configured = now + t.session_absolute.as_secs_i64();
    let absolute = wallet
        .as_ref()
        .map_or(configured, |(_, until)| configured.min(*until));
    let session = SessionRecord {
        id,
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
        wallet: wallet.map(|(binding, _)| binding),
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
        token_type: token_type(&session),
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
/// [`ServiceError::Unauthenticated`] for unknown, expired, reused tokens or ended sessions,
/// and for a wallet session's token without a proof by its key (`proof_key`, the thumbprint
/// of the request's DPoP proof), which ends that session.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: &AppState,
    presented: &str,
    proof_key: Option<&str>,
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
            if let Some(jkt) = session.wallet.as_ref().and_then(|w| w.jkt.as_deref())
                && proof_key != Some(jkt)
            {
                // A wallet session's refresh token is bound to its key like its access
                // tokens: presented without it, the token was stolen or the key lost.
                wallet_sessions::end(state, &session, "refresh_without_key").await?;
                return Err(ServiceError::Unauthenticated(
                    "a wallet session's refresh needs a DPoP proof by its session key",
                ));
            }
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
            let token_type = token_type(&session);
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
                token_type,
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
            wallet_sessions::end(state, &s, reason).await?;
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
    let now = state.now();
    let wallet_sessions: Vec<SessionRecord> = state
        .store
        .sessions
        .list_live(account, now)
        .await?
        .into_iter()
        .filter(|s| s.wallet.is_some() && Some(s.id) != keep)
        .collect();
    let n = state
        .store
        .sessions
        .revoke_all(account, keep, reason, now)
        .await?;
    cluster::revocations_changed(state).await;
    for s in &wallet_sessions {
        wallet_sessions::retire(state, s).await?;
    }
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
