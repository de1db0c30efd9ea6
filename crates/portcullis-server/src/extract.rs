//! Extractors: authorization is a parameter type. A handler that takes [`AuthSession`] cannot
//! run without a valid access token of a live session; [`AdminSession`] adds the admin role.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::IpAddr;

use crate::auth::dpop::{self, Presented};
use crate::auth::{AuthCheck, AuthSession, Caller, authenticate_presented, bearer_caller};
use crate::error::ApiError;
use crate::services::ServiceError;
use crate::state::AppState;
use crate::tls::ClientAddr;

/// Who is calling, as far as the connection tells.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// Peer address.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<ClientAddr>>()
            .map(|c| c.0.0.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// JSON body whose rejections become problem+json.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Form body (`application/x-www-form-urlencoded`) whose rejections become problem+json.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(axum::extract::rejection::FormRejection::InvalidFormContentType(_)) => {
                Err(ApiError::UnsupportedMediaType(
                    "expected `Content-Type: application/x-www-form-urlencoded`".into(),
                ))
            }
            Err(other) if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::bad_request("invalid-body", other.body_text())),
        }
    }
}

/// Query string whose rejections become problem+json (`invalid-query`), where axum's own
/// `Query` would answer in plain text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => Err(ApiError::bad_request(
                "invalid-query",
                rejection.body_text(),
            )),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected `Content-Type: application/json`".into())
        }
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid-body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed-json", e.body_text()),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge
        }
        other => ApiError::bad_request("invalid-body", other.body_text()),
    }
}

/// The bearer token of `Authorization`, else the pages' access cookie: how callers that
/// browsers reach directly (forward-auth, the DualConfirm feed) find the access token.
pub fn bearer_or_access_cookie(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Option<String> {
    bearer_or_cookie(headers, crate::web::cookies::Cookies::of(state).access())
}

/// [`bearer_or_access_cookie`] with the cookie's name given: the pure part, which the fuzz
/// target `forward_auth` drives with any headers.
pub fn bearer_or_cookie(headers: &axum::http::HeaderMap, cookie: &str) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .or_else(|| crate::web::cookies::read(headers, cookie))
}

fn presented(parts: &Parts) -> Result<Presented<'_>, ServiceError> {
    Presented::from_headers(&parts.headers).ok_or(ServiceError::Unauthenticated(
        "an access token is required (`Authorization: Bearer` or `DPoP`)",
    ))
}

impl FromRequestParts<AppState> for AuthSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = presented(parts)?;
        let uri = dpop::request_uri(state, parts);
        let (session, _) =
            authenticate_presented(state, presented, parts.method.as_str(), &uri).await?;
        Ok(session)
    }
}

/// Any verified caller: a user's live session (bearer or DPoP-bound) or an active service
/// account's token. What it may do is the endpoint's [`AuthCheck`](crate::auth::AuthCheck)
/// to decide.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = presented(parts)?;
        let uri = dpop::request_uri(state, parts);
        Ok(bearer_caller(state, presented, parts.method.as_str(), &uri).await?)
    }
}

/// An [`AuthSession`] whose token carries the `admin` role.
#[derive(Clone, Debug)]
pub struct AdminSession(pub AuthSession);

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        AuthCheck::new("this endpoint is for administrators")
            .admin()
            .allows_session(&session)?;
        Ok(AdminSession(session))
    }
}
