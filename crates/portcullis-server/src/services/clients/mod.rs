//! Service accounts: OAuth 2.0 clients that authenticate with a secret and obtain access
//! tokens through the client-credentials grant (RFC 6749 §4.4).
//!
//! A secret is a 256-bit random [`OpaqueToken`]; the store keeps only its SHA-256 (a secret
//! of that entropy needs no slow hash) and comparison is constant-time. An unknown client is
//! checked against a dummy hash so it costs and answers the same as a wrong secret.
//!
//! A client's access token is one of our EdDSA JWTs with `sub` and `sid` both
//! `client:<id>` and a `scope` claim. It names no session, so the user extractors
//! ([`crate::extract::authenticate`]) refuse it; introspection checks the client instead.

use portcullis_core::secret::{OpaqueToken, TokenHash};
use portcullis_core::token::AccessClaims;
use portcullis_store::StoreError;
use portcullis_store::model::{ClientRecord, ClientStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{AuthCheck, Caller, ids_of, verify_token};
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// Prefix of `sub` and `sid` in a client's access token.
pub const SUBJECT_PREFIX: &str = "client:";

/// Credentials a client presented (HTTP Basic or form fields).
pub struct ClientCredentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, as presented.
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Scope a client needs to call `POST /v1/introspect`: reading other parties' tokens is a
/// privilege, not something every service account has.
pub const INTROSPECT_SCOPE: &str = "portcullis:introspect";

/// Scope a client needs to end users' sessions with `POST /v1/revoke` (RFC 7009 §2.1 says
/// a server verifies the client may revoke a token; users' tokens are not issued to clients).
pub const REVOKE_SCOPE: &str = "portcullis:revoke";

/// Scope a client needs to read the revocation feed (`GET /v1/revocations`): what a guard in
/// front of a service asks for, so it learns of ended sessions without a user's session.
pub const REVOCATIONS_SCOPE: &str = "portcullis:revocations";

/// Whether `client` is allowed `scope`.
pub fn allows(client: &ClientRecord, scope: &str) -> bool {
    client.scopes.iter().any(|s| s == scope)
}

/// Why the token endpoint refused (RFC 6749 §5.2 error codes).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Malformed request.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Client authentication failed (unknown client, wrong secret, disabled client).
    #[error("client authentication failed")]
    InvalidClient,
    /// A requested scope is not allowed for this client.
    #[error("{0}")]
    InvalidScope(&'static str),
    /// Only `client_credentials` is supported here.
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    /// The client is not allowed this operation (it lacks the scope that grants it).
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// Our side failed.
    #[error(transparent)]
    Api(#[from] ServiceError),
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::Api(e.into())
    }
}

/// RFC 6749 §5.1 response of the client-credentials grant (no refresh token, §4.4.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    /// JWT access token (EdDSA).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Granted scopes, space separated.
    pub scope: String,
}

/// A new client with its secret, which is shown this once.
pub struct NewClient {
    /// The stored record.
    pub record: ClientRecord,
    /// The plain secret.
    pub secret: OpaqueToken,
}

fn check_scopes(scopes: &[String]) -> Result<(), ServiceError> {
    let ok = |s: &String| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    if scopes.iter().all(ok) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            Invalid::Scope,
            "a scope is printable ASCII without spaces, quotes or backslashes",
        ))
    }
}

/// Creates a client allowed `scopes`; audited with `actor`.
///
/// # Errors
/// [`ServiceError::Conflict`] when the name is taken; a bad scope name; storage failure.
#[tracing::instrument(skip_all, fields(client.name = %name))]
pub async fn create(
    state: &AppState,
    name: &str,
    scopes: Vec<String>,
    actor: &str,
) -> Result<NewClient, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid(
            Invalid::ClientName,
            "a client name has 1 to 100 characters",
        ));
    }
    check_scopes(&scopes)?;
    let mut unique: Vec<String> = Vec::new();
    for s in scopes {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    let now = state.now();
    let secret = OpaqueToken::generate(state.entropy.as_ref());
    let record = ClientRecord {
        id: uuid::Uuid::from_bytes(state.random::<16>())
            .simple()
            .to_string(),
        name: name.to_owned(),
        secret_hash: secret.hash(),
        scopes: unique,
        status: ClientStatus::Active,
        created_at: now,
        updated_at: now,
    };
    match state.store.clients.create(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ServiceError::Conflict(
                "a client with this name already exists",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        state,
        "admin.client_added",
        Some(actor.to_owned()),
        Some(record.id.clone()),
        None,
        json!({"name": record.name, "scopes": record.scopes}),
    )
    .await?;
    Ok(NewClient { record, secret })
}

/// Replaces a client's secret; the old one stops working at once.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown client; storage failure.
#[tracing::instrument(skip_all, fields(client.id = %id))]
pub async fn rotate_secret(
    state: &AppState,
    id: &str,
    actor: &str,
) -> Result<OpaqueToken, ServiceError> {
    let secret = OpaqueToken::generate(state.entropy.as_ref());
    if !state
        .store
        .clients
        .set_secret(id, &secret.hash(), state.now())
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.client_secret_rotated",
        Some(actor.to_owned()),
        Some(id.to_owned()),
        None,
        json!({}),
    )
    .await?;
    Ok(secret)
}

/// Removes a client; its tokens introspect as inactive from now on.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown client; storage failure.
#[tracing::instrument(skip_all, fields(client.id = %id))]
pub async fn remove(state: &AppState, id: &str, actor: &str) -> Result<(), ServiceError> {
    if !state.store.clients.delete(id).await? {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.client_removed",
        Some(actor.to_owned()),
        Some(id.to_owned()),
        None,
        json!({}),
    )
    .await
}

/// Checks presented credentials; the same cost and answer for every kind of failure.
///
/// # Errors
/// [`OAuthError::InvalidClient`]; storage failure.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    state: &AppState,
    creds: &ClientCredentials,
) -> Result<ClientRecord, OAuthError> {
    let presented = OpaqueToken::parse(&creds.secret).map(|t| t.hash());
    let found = if creds.id.len() <= 64 {
        state.store.clients.get(&creds.id).await?
    } else {
        None
    };
    let dummy = TokenHash::from_bytes([0; 32]);
    let stored = found.as_ref().map_or(&dummy, |c| &c.secret_hash);
    let matches = presented.as_ref().is_some_and(|p| p.ct_eq(stored));
    match found {
        Some(c) if matches && c.status == ClientStatus::Active => Ok(c),
        _ => {
            tracing::info!(client.id = %creds.id.chars().take(64).collect::<String>(), "client authentication failed");
            Err(OAuthError::InvalidClient)
        }
    }
}

/// The scopes to grant: all allowed ones when none are asked for (RFC 6749 §3.3), otherwise
/// exactly those asked, each of which must be allowed.
fn granted_scopes(
    client: &ClientRecord,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(client.scopes.clone());
    };
    let mut out: Vec<String> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|a| a == s) {
            return Err(OAuthError::InvalidScope(
                "a requested scope is not allowed for this client",
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// The client-credentials grant: authenticates the client and signs an access token.
///
/// # Errors
/// The RFC 6749 §5.2 error that applies; signing or storage failure.
#[tracing::instrument(skip_all)]
pub async fn grant(
    state: &AppState,
    grant_type: Option<&str>,
    scope: Option<&str>,
    creds: &ClientCredentials,
) -> Result<ClientTokenResponse, OAuthError> {
    let client = authenticate(state, creds).await?;
    match grant_type {
        None => return Err(OAuthError::InvalidRequest("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let scopes = granted_scopes(&client, scope)?;
    let now = state.now();
    let ttl = state.config.tokens.access_ttl.as_secs_i64();
    let subject = format!("{SUBJECT_PREFIX}{}", client.id);
    let scope = scopes.join(" ");
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: subject.clone(),
        aud: state.config.audience.clone(),
        exp: now + ttl,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::from_bytes(state.random::<16>())
            .simple()
            .to_string(),
        sid: subject,
        acr: "client".to_owned(),
        amr: Vec::new(),
        roles: Vec::new(),
        auth_time: now,
        scope: Some(scope.clone()),
    };
    let access_token = state.keys().sign(&claims).map_err(ServiceError::from)?;
    tracing::info!(client.id = %client.id, "client token issued");
    Ok(ClientTokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope,
    })
}

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
