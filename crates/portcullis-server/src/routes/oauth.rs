//! `POST /v1/oauth/token` (RFC 6749 §4.4, client credentials) and `POST /v1/revoke`
//! (RFC 7009). Both speak OAuth rather than problem+json: form-encoded requests and
//! `{"error", "error_description"}` answers (RFC 6749 §5.2).

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::client_caller;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::services::clients::{self, ClientCredentials, ClientTokenResponse, OAuthError};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(revoke))
}

/// RFC 6749 §5.2 error body.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unauthorized_client` or
    /// `unsupported_grant_type`.
    error: &'static str,
    /// For a human.
    error_description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let error_description = self.to_string();
        let (status, error) = match self {
            OAuthError::Api(e) => return ApiError::from(e).into_response(),
            OAuthError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
            OAuthError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope"),
            OAuthError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            OAuthError::UnauthorizedClient(_) => (StatusCode::BAD_REQUEST, "unauthorized_client"),
        };
        let body = OAuthErrorBody {
            error,
            error_description,
        };
        let mut resp = (status, no_store(), Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\""),
            );
        }
        resp
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1), if that header is there.
///
/// # Errors
/// [`OAuthError::InvalidClient`] for a Basic header that does not decode.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<ClientCredentials>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::InvalidClient)?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(OAuthError::InvalidClient)?;
    // Ids and secrets use only unreserved characters, so their form-encoding is themselves.
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    Ok(Some(ClientCredentials {
        id: id.to_owned(),
        secret: secret.to_owned(),
    }))
}

/// One authentication method only (RFC 6749 §2.3): Basic, or the two form fields.
fn credentials(
    headers: &HeaderMap,
    id: Option<String>,
    secret: Option<String>,
) -> Result<ClientCredentials, OAuthError> {
    match (basic_credentials(headers)?, id, secret) {
        (Some(c), None, None) => Ok(c),
        (None, Some(id), Some(secret)) => Ok(ClientCredentials { id, secret }),
        (Some(_), _, _) => Err(OAuthError::InvalidRequest(
            "use one client authentication method, not two",
        )),
        _ => Err(OAuthError::InvalidClient),
    }
}

fn form<T>(f: Result<Form<T>, FormRejection>) -> Result<T, OAuthError> {
    f.map(|Form(v)| v).map_err(|_| {
        OAuthError::InvalidRequest("expected an application/x-www-form-urlencoded body")
    })
}

/// Client-credentials token request (form-encoded).
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    grant_type: Option<String>,
    /// Space-separated scopes; all the client's scopes when absent.
    scope: Option<String>,
    /// With `client_secret`, instead of HTTP Basic.
    client_id: Option<String>,
    /// With `client_id`, instead of HTTP Basic.
    client_secret: Option<String>,
}

/// The client-credentials grant: a service account trades its credentials for an access
/// token with the scopes it asks for (or all it is allowed).
#[utoipa::path(post, path = "/v1/oauth/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = ClientTokenResponse), (status = 400, body = OAuthErrorBody),
        (status = 401, body = OAuthErrorBody)))]
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let req = form(req)?;
    let creds = credentials(&headers, req.client_id, req.client_secret)?;
    let granted = clients::grant(
        &state,
        req.grant_type.as_deref(),
        req.scope.as_deref(),
        &creds,
    )
    .await?;
    Ok((no_store(), Json(granted)).into_response())
}

/// RFC 7009 revocation request (form-encoded).
#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// A refresh token or an access token.
    token: String,
    /// Ignored hint (`refresh_token` or `access_token`): both kinds are recognised.
    #[expect(
        dead_code,
        reason = "accepted for RFC 7009 clients; the token's shape decides"
    )]
    token_type_hint: Option<String>,
    /// With `client_secret`, instead of HTTP Basic.
    client_id: Option<String>,
    /// With `client_id`, instead of HTTP Basic.
    client_secret: Option<String>,
}

/// Ends the session behind a refresh token or a user's access token. Answers 200 for unknown
/// tokens too (RFC 7009 §2.2).
#[utoipa::path(post, path = "/v1/revoke", tag = "oauth",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    info: ClientInfo,
    headers: HeaderMap,
    req: Result<Form<RevokeRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let req = form(req)?;
    let creds = credentials(&headers, req.client_id, req.client_secret)?;
    let caller = client_caller(&state, &creds).await?;
    clients::revoke(&state, &caller, &req.token, &info).await?;
    Ok((StatusCode::OK, no_store()).into_response())
}
