//! Operations: health, metrics, and the JWKS.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret as _;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::AdminSession;
use crate::services::ServiceError;
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(health_detailed))
        .routes(routes!(metrics_text))
        .routes(routes!(jwks))
}

/// Liveness: 200 while the process serves requests.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Object)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness details for administrators: database, outbox backlog, key ages.
#[utoipa::path(get, path = "/health/detailed", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn health_detailed(
    State(state): State<AppState>,
    _admin: AdminSession,
) -> ApiResult<Json<serde_json::Value>> {
    let now = state.now();
    let database = match state.store.health.ping().await {
        Ok(()) => json!({ "status": "ok", "backend": state.store.health.backend() }),
        Err(e) => {
            json!({ "status": "error", "backend": state.store.health.backend(), "error": e.to_string() })
        }
    };
    let backlog = state.store.outbox.backlog().await.ok();
    let keys = state.keys();
    let signing: Vec<_> = keys
        .records()
        .iter()
        .map(|r| json!({ "kid": r.kid, "age_secs": now - r.created_at, "retired": r.retired_at.is_some() }))
        .collect();
    let masters = state.keyring().versions();
    Ok(Json(json!({
        "status": if database["status"] == "ok" { "ok" } else { "degraded" },
        "database": database,
        "outbox": { "backlog": backlog },
        "signing_keys": signing,
        "keyring": { "current_master_version": state.keyring().current_version(), "versions": masters },
    })))
}

/// Prometheus metrics (text exposition format). Open unless `[metrics] bearer_token` is set;
/// then a scrape must present that token.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, content_type = "text/plain"), (status = 401, body = Problem)))]
async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics.bearer_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().as_bytes());
        let matches =
            presented.is_some_and(|p| bool::from(p.ct_eq(expected.expose_secret().as_bytes())));
        if !matches {
            return ApiError::from(ServiceError::Unauthenticated(
                "the metrics bearer token is required",
            ))
            .into_response();
        }
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The public keys that verify our access tokens (RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations", responses((status = 200, body = Object)))]
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys().jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
