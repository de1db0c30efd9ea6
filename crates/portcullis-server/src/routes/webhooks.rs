//! `/v1/admin/webhooks`: webhook subscriptions, for administrators. The secret appears only in
//! the answers of creation and rotation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, Problem};
use crate::extract::{AdminSession, ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::webhooks::{self, Subscription, WithSecret};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(remove_webhook))
        .routes(routes!(rotate_webhook_secret))
}

/// A new subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are POSTed: an absolute `http` or `https` URL without credentials.
    url: String,
    /// Event types to deliver (`account.created`, `account.verified`, `account.updated`,
    /// `account.disabled`, `account.deleted`); absent or empty: all.
    #[serde(default)]
    events: Vec<String>,
    /// A note for operators (at most 200 characters).
    description: Option<String>,
}

fn actor(admin: &AdminSession) -> String {
    format!("admin:{}", admin.0.account)
}

/// Every subscription with its delivery counts; never a secret.
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = [Subscription]), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_webhooks(
    State(state): State<AppState>,
    _admin: AdminSession,
) -> ApiResult<Json<Vec<Subscription>>> {
    Ok(Json(webhooks::list(&state).await?))
}

/// Subscribes a URL to account events. The answer carries the signing secret (`whsec_…`),
/// shown only this once.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = WithSecret), (status = 401, body = Problem), (status = 403, body = Problem), BodyRejection))]
async fn create_webhook(
    State(state): State<AppState>,
    admin: AdminSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WithSecret>)> {
    let created = webhooks::add(
        &state,
        &req.url,
        &req.events,
        req.description,
        actor(&admin),
        Some(&client),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Removes a subscription and its pending deliveries.
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Subscription id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_webhook(
    State(state): State<AppState>,
    admin: AdminSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    webhooks::remove(&state, &id, actor(&admin), Some(&client)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a subscription a new secret, shown only in this answer; the old one keeps signing
/// beside it for `[webhooks] rotation_grace_secs`.
#[utoipa::path(post, path = "/v1/admin/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Subscription id")),
    responses((status = 200, body = WithSecret), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    admin: AdminSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<WithSecret>> {
    Ok(Json(
        webhooks::rotate_secret(&state, &id, actor(&admin), Some(&client)).await?,
    ))
}
