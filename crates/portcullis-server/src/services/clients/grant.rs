//! The client-credentials grant (RFC 6749 §4.4): checking the credentials a client
//! presents (the same cost and answer for every failure), choosing the scopes to grant, and
//! signing the access token. [`OAuthError`] lives here because these are the token
//! endpoint's refusals; revocation answers with it too.

use portcullis_core::secret::{OpaqueToken, TokenHash};
use portcullis_core::token::AccessClaims;
use portcullis_store::StoreError;
use portcullis_store::model::{ClientRecord, ClientStatus};
use serde::Serialize;
use utoipa::ToSchema;

use super::SUBJECT_PREFIX;
use crate::config::DurationExt as _;
use crate::services::error::ServiceError;
use crate::state::AppState;

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
            // Debug formatting escapes control characters: a presented id cannot forge a log line.
            tracing::info!(client.id = ?creds.id.chars().take(64).collect::<String>(), "client authentication failed");
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
        cnf: None,
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
