//! `/v1/tokens/refresh` and `/v1/introspect` (RFC 7662).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{
    ApiForm, ApiJson, AuthSession, ClientInfo, authenticate_with_leeway, verify_token,
};
use crate::routes::oauth::basic_credentials;
use crate::services::clients::{self, OAuthError};
use crate::services::sessions::{self, TokenResponse};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(introspect))
}

/// Refresh request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// Spends a refresh token for new tokens. Presenting a spent token again ends the session.
#[utoipa::path(post, path = "/v1/tokens/refresh", tag = "tokens", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem)))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(
        sessions::refresh(&state, &req.refresh_token, &client).await?,
    ))
}

/// RFC 7662 request (form-encoded).
#[derive(Deserialize, ToSchema)]
pub struct IntrospectRequest {
    /// The access token to check.
    token: String,
    /// Ignored hint (`access_token`).
    #[expect(
        dead_code,
        reason = "accepted for RFC 7662 clients; only access tokens exist"
    )]
    token_type_hint: Option<String>,
}

/// RFC 7662 response.
#[derive(Serialize, ToSchema, Default)]
pub struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// The service account a client-credentials token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Scopes of a client-credentials token.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// The caller of introspection: a live session holding one of `introspection_roles`
/// (RFC 7662 §4: the endpoint must not let any user scan other people's tokens), or a
/// service account authenticating with HTTP Basic (RFC 7662 §2.1).
pub struct IntrospectionCaller;

impl FromRequestParts<AppState> for IntrospectionCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthenticated = || ApiError::Unauthenticated("client authentication failed");
        if let Some(creds) = basic_credentials(&parts.headers).map_err(|_| unauthenticated())? {
            return match clients::authenticate(state, &creds).await {
                Ok(c) if clients::allows(&c, clients::INTROSPECT_SCOPE) => Ok(IntrospectionCaller),
                Ok(_) => Err(ApiError::Forbidden(
                    "this client may not introspect: it lacks the portcullis:introspect scope",
                )),
                Err(OAuthError::Api(e)) => Err(e),
                Err(_) => Err(unauthenticated()),
            };
        }
        let caller = AuthSession::from_request_parts(parts, state).await?;
        if state
            .config
            .introspection_roles
            .iter()
            .any(|r| caller.has_role(r))
        {
            Ok(IntrospectionCaller)
        } else {
            Err(ApiError::Forbidden(
                "introspection is for services and administrators",
            ))
        }
    }
}

/// RFC 7662 answer for a service account's token: active while the client is.
async fn introspect_client_token(state: &AppState, token: &str) -> ApiResult<Json<Introspection>> {
    match clients::verify_client_token(state, token, 0).await {
        Ok((c, client)) => Ok(Json(Introspection {
            active: true,
            sub: Some(c.sub),
            iss: Some(c.iss),
            aud: Some(c.aud),
            exp: Some(c.exp),
            iat: Some(c.iat),
            jti: Some(c.jti),
            token_type: Some("Bearer"),
            client_id: Some(client.id),
            scope: c.scope,
            ..Introspection::default()
        })),
        Err(ApiError::Unauthenticated(_)) => Ok(Json(Introspection::default())),
        Err(e) => Err(e),
    }
}

/// Tells whether an access token is active: signature, lifetime and a live session.
/// A revoked session's tokens are inactive at once.
#[utoipa::path(post, path = "/v1/introspect", tag = "tokens", security(("bearer" = [])),
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn introspect(
    State(state): State<AppState>,
    _caller: IntrospectionCaller,
    ApiForm(req): ApiForm<IntrospectRequest>,
) -> ApiResult<Json<Introspection>> {
    if let Ok(claims) = verify_token(&state, &req.token, 0)
        && clients::client_of(&claims).is_some()
    {
        return introspect_client_token(&state, &req.token).await;
    }
    match authenticate_with_leeway(&state, &req.token, 0).await {
        Ok(auth) => {
            let c = auth.claims;
            Ok(Json(Introspection {
                active: true,
                sub: Some(c.sub),
                sid: Some(c.sid),
                iss: Some(c.iss),
                aud: Some(c.aud),
                exp: Some(c.exp),
                iat: Some(c.iat),
                jti: Some(c.jti),
                token_type: Some("Bearer"),
                acr: Some(c.acr),
                amr: Some(c.amr),
                roles: Some(c.roles),
                auth_time: Some(c.auth_time),
                ..Introspection::default()
            }))
        }
        Err(ApiError::Unauthenticated(_)) => Ok(Json(Introspection::default())),
        Err(e) => Err(e),
    }
}
