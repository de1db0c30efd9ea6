//! `/v1/tokens/refresh` and `/v1/introspect` (RFC 7662).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AuthSession, Caller, client_caller, dpop};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiForm, ApiJson, ClientInfo};
use crate::routes::oauth::basic_credentials;
use crate::routes::openapi::BodyRejection;
use crate::services::ServiceError;
use crate::services::clients::OAuthError;
use crate::services::introspection::{self, Active, Introspector};
use crate::services::sessions::{self, TokenResponse};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
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
/// A wallet session's refresh token needs a `DPoP` proof (RFC 9449) by the session key for
/// `POST` on this URI; without it the session ends (the token was stolen, or its client
/// lost the key).
#[utoipa::path(post, path = "/v1/tokens/refresh", tag = "tokens", request_body = RefreshRequest,
    params(("DPoP" = Option<String>, Header, description = "DPoP proof, for a wallet session")),
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), BodyRejection))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let uri = format!(
        "{}/v1/tokens/refresh",
        state.config.public_url().trim_end_matches('/')
    );
    let key = dpop::token_request_key(&state, &headers, &uri)?;
    Ok(Json(
        sessions::refresh(&state, &req.refresh_token, key.as_deref(), &client).await?,
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
    /// For a DPoP-bound token: the key it is bound to (`{"jkt": …}`, RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    cnf: Option<portcullis_core::token::Confirmation>,
}

/// The caller of introspection: a service account authenticating with HTTP Basic (RFC 7662
/// §2.1), or a user's live session (bearer), that the service's check let through: decided
/// before the body is read, so a refused caller hears 403 whatever it sent.
pub struct IntrospectionCaller(Introspector);

impl FromRequestParts<AppState> for IntrospectionCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthenticated = || {
            ApiError::from(ServiceError::Unauthenticated(
                "client authentication failed",
            ))
        };
        if let Some(creds) = basic_credentials(&parts.headers).map_err(|_| unauthenticated())? {
            let caller = match client_caller(state, &creds).await {
                Ok(caller) => caller,
                Err(OAuthError::Api(e)) => return Err(e.into()),
                Err(_) => return Err(unauthenticated()),
            };
            return Ok(IntrospectionCaller(introspection::authorize(
                state, &caller,
            )?));
        }
        let caller = Caller::Session(AuthSession::from_request_parts(parts, state).await?);
        Ok(IntrospectionCaller(introspection::authorize(
            state, &caller,
        )?))
    }
}

/// Tells whether an access token is active: signature, lifetime and a live session.
/// A revoked session's tokens are inactive at once.
#[utoipa::path(post, path = "/v1/introspect", tag = "tokens", security(("bearer" = [])),
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), (status = 401, body = Problem), (status = 403, body = Problem), BodyRejection))]
async fn introspect(
    State(state): State<AppState>,
    IntrospectionCaller(introspector): IntrospectionCaller,
    ApiForm(req): ApiForm<IntrospectRequest>,
) -> ApiResult<Json<Introspection>> {
    let answer = match introspection::introspect(&state, &introspector, &req.token).await? {
        None => Introspection::default(),
        Some(Active::Client(c, client)) => Introspection {
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
        },
        Some(Active::Session(c)) => Introspection {
            active: true,
            sub: Some(c.sub),
            sid: Some(c.sid),
            iss: Some(c.iss),
            aud: Some(c.aud),
            exp: Some(c.exp),
            iat: Some(c.iat),
            jti: Some(c.jti),
            token_type: Some(if c.cnf.is_some() { "DPoP" } else { "Bearer" }),
            cnf: c.cnf,
            acr: Some(c.acr),
            amr: Some(c.amr),
            roles: Some(c.roles),
            auth_time: Some(c.auth_time),
            ..Introspection::default()
        },
    };
    Ok(Json(answer))
}
