//! `/v1/admin/api-keys`: API keys of front-end applications, for administrators (the key
//! appears only in the answer that creates it); `/v1/api-keys/current`: what a key is, for
//! the application holding it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::identify_app;
use crate::error::{ApiResult, Problem};
use crate::extract::{AdminSession, ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::api_keys::{self, KeyView, NewKey};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(current_api_key))
}

/// A new key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The application's name (1 to 100 characters).
    name: String,
    /// Scopes to grant, at least one: `wallets:read`, `wallets:create`, `wallets:send`,
    /// `wallets:sign`.
    scopes: Vec<String>,
    /// Origins (`scheme://host[:port]`) a browser may use the key from; absent or empty: any.
    #[serde(default)]
    origins: Vec<String>,
    /// Requests per minute (1 to 1000000); absent: `[api_keys] default_rate_per_minute`.
    #[schema(minimum = 1, maximum = 1_000_000)]
    rate_per_minute: Option<u32>,
}

/// A key with its text: the one answer that shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key as listed.
    #[serde(flatten)]
    view: KeyView,
    /// `pk_live_…`: what the application sends as `X-API-Key`. Shown once.
    key: String,
}

/// The application a key identifies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentApp {
    /// The key's id.
    id: String,
    /// The application's name.
    name: String,
    /// Scopes the key was granted.
    scopes: Vec<&'static str>,
}

fn actor(admin: &AdminSession) -> String {
    format!("admin:{}", admin.0.account)
}

/// Every key, revoked ones included; never a key itself.
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = [KeyView]), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_api_keys(
    State(state): State<AppState>,
    _admin: AdminSession,
) -> ApiResult<Json<Vec<KeyView>>> {
    Ok(Json(api_keys::list(&state).await?))
}

/// Makes a key for a front-end application. The answer carries the key (`pk_live_…`),
/// shown only this once.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "api-keys", security(("bearer" = [])),
    request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 401, body = Problem), (status = 403, body = Problem), BodyRejection))]
async fn create_api_key(
    State(state): State<AppState>,
    admin: AdminSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<NewApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let new = NewKey {
        name: req.name,
        scopes: req.scopes,
        origins: req.origins,
        rate_per_minute: req.rate_per_minute,
    };
    let created = api_keys::create(&state, new, actor(&admin), Some(&client)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key: created.key.expose(),
            view: created.view,
        }),
    ))
}

/// Revokes a key: every node refuses it from the next request. Revoking a revoked key
/// changes nothing.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "Key id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_api_key(
    State(state): State<AppState>,
    admin: AdminSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    api_keys::revoke(&state, &id, actor(&admin), Some(&client)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The application the presented `X-API-Key` identifies, with its scopes: for front-end
/// developers to check their key. Counts against the key's rate, and refuses an `Origin` the
/// key does not allow, as every endpoint that takes a key does.
#[utoipa::path(get, path = "/v1/api-keys/current", tag = "api-keys", security(("api_key" = [])),
    responses((status = 200, body = CurrentApp),
        (status = 401, description = "No key (`api-key-required`), or not a live key (`api-key-invalid`)", body = Problem),
        (status = 403, description = "A browser origin the key does not allow (`api-key-origin`)", body = Problem)))]
async fn current_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<CurrentApp>> {
    let app = identify_app(&state, &headers).await?;
    Ok(Json(CurrentApp {
        id: app.id.to_string(),
        name: app.name,
        scopes: app.scopes.iter().map(|s| s.as_str()).collect(),
    }))
}
