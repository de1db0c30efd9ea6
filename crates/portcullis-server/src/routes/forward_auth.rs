//! `GET /v1/forward-auth`: the sub-request of nginx `auth_request` and Traefik ForwardAuth.
//!
//! The original request is described by `X-Forwarded-Method`, `X-Forwarded-Host` and
//! `X-Forwarded-Uri` (Traefik sets these), or by `X-Original-Method` / `X-Original-URI` with
//! `X-Forwarded-Host`, which an nginx `location` for the sub-request must set:
//!
//! ```nginx
//! location = /_auth {
//!     internal;
//!     proxy_pass http://portcullis/v1/forward-auth;
//!     proxy_method GET;
//!     proxy_pass_request_body off;
//!     proxy_set_header Content-Length "";
//!     proxy_set_header X-Original-URI $request_uri;
//!     proxy_set_header X-Original-Method $request_method;
//!     proxy_set_header X-Forwarded-Host $host;
//! }
//! ```
//!
//! The upstream must take the `X-Portcullis-*` headers only from this answer (nginx:
//! `auth_request_set` + `proxy_set_header`, which replace whatever the client sent).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::dpop::{Credential, Presented};
use crate::config::DurationExt as _;
use crate::error::{ApiError, Problem};
use crate::extract::bearer_or_access_cookie;
use crate::services::ServiceError;
use crate::services::forward_auth::decide::{Denial, Original, Pass, decide};
use crate::services::forward_auth::{self, Refusal};
use crate::state::AppState;
use crate::verified::Verified;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forward_auth))
}

/// Decides whether a proxied request may reach its upstream. The first `[forward_auth]` rule
/// matching host, path and method decides; no match is 403. On success the identity comes back
/// in `X-Portcullis-Subject`, `X-Portcullis-Roles`, `X-Portcullis-Session` and
/// `X-Portcullis-Token` (a JWT of ours, valid for seconds, whose `aud` is the upstream).
#[utoipa::path(get, path = "/v1/forward-auth", tag = "forward-auth", security((), ("bearer" = [])),
    params(
        ("X-Forwarded-Host" = Option<String>, Header, example = "app.example.com", description = "Host of the original request"),
        ("X-Forwarded-Uri" = Option<String>, Header, pattern = "^/", example = "/orders/7", description = "Target of the original request (Traefik)"),
        ("X-Forwarded-Method" = Option<String>, Header, example = "GET", description = "Method of the original request (Traefik)"),
        ("X-Original-URI" = Option<String>, Header, description = "Target of the original request (nginx)"),
        ("X-Original-Method" = Option<String>, Header, description = "Method of the original request (nginx)"),
        ("X-Forwarded-Proto" = Option<String>, Header, example = "https", description = "Scheme of the original request (default https): part of the URI a DPoP proof names"),
        ("DPoP" = Option<String>, Header, description = "DPoP proof (RFC 9449) of a wallet session's request, with `Authorization: DPoP <token>`"),
    ),
    responses(
        (status = 200, description = "Allowed; identity in the X-Portcullis-* headers"),
        (status = 401, body = Problem, description = "No valid token, or step-up required (RFC 9470)"),
        (status = 403, body = Problem, description = "No rule allows this request, or a role is missing"),
    ))]
async fn forward_auth(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let original = Original::from_headers(&headers);
    let ttl_secs = state.config.forward_auth.token_ttl.as_secs_i64();
    let token = || {
        Presented::from_headers(&headers)
            .map(Credential::from)
            .or_else(|| bearer_or_access_cookie(&state, &headers).map(Credential::Bearer))
    };
    match decide(&state, original, token).await {
        Ok(Pass::Anonymous) => StatusCode::OK.into_response(),
        Ok(Pass::Identity { session, audience }) => {
            match identity(&state, &session, audience, ttl_secs) {
                Ok(identity) => (StatusCode::OK, identity).into_response(),
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Err(Denial::Refused(e)) => ApiError::from(e).into_response(),
        Err(Denial::StepUp(refusal)) => step_up(&refusal),
    }
}

fn identity(
    state: &AppState,
    verified: &Verified,
    audience: &str,
    ttl_secs: i64,
) -> Result<HeaderMap, ServiceError> {
    let claims = &verified.session.claims;
    let now = state.now();
    verified.identity_headers(audience, ttl_secs, now, || {
        let jti = uuid::Uuid::from_bytes(state.random::<16>())
            .simple()
            .to_string();
        let internal = forward_auth::internal_claims(claims, audience, ttl_secs, now, jti);
        let exp = internal.exp;
        let token = state.keys().sign(&internal)?;
        let mut out = HeaderMap::new();
        let values = [
            ("x-portcullis-subject", claims.sub.clone()),
            ("x-portcullis-roles", claims.roles.join(",")),
            ("x-portcullis-session", claims.sid.clone()),
            ("x-portcullis-acr", claims.acr.clone()),
            ("x-portcullis-token", token),
        ];
        for (name, value) in values {
            let value = HeaderValue::from_str(&value).map_err(|_| {
                ServiceError::unexpected(format!("{name} is not a valid header value"))
            })?;
            out.insert(HeaderName::from_static(name), value);
        }
        Ok((out, exp))
    })
}

fn step_up(refusal: &Refusal) -> Response {
    let mut response = ApiError::from(ServiceError::StepUpRequired {
        detail: "a stronger or fresher authentication is required",
        acr: None,
        max_age: 0,
    })
    .into_response();
    if let Some(v) = refusal
        .challenge()
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
