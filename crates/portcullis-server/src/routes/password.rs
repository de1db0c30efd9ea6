//! `/v1/password`: forgotten passwords.

use axum::extract::State;
use axum::http::StatusCode;
use portcullis_core::password::Password;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::credentials;
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forgot))
        .routes(routes!(reset))
}

/// Reset request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    email: String,
}

/// Mails a reset link if the account exists. Always 202, so it reveals nothing.
#[utoipa::path(post, path = "/v1/password/forgot", tag = "password", request_body = ForgotRequest,
    responses((status = 202), (status = 429, body = Problem), BodyRejection))]
async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> ApiResult<StatusCode> {
    credentials::forgot(&state, &req.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// New password with the mailed token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    token: String,
    new_password: String,
}

/// Sets a new password; every session of the account ends.
#[utoipa::path(post, path = "/v1/password/reset", tag = "password", request_body = ResetRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 422, body = Problem), BodyRejection))]
async fn reset(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    credentials::reset(&state, &req.token, Password::new(req.new_password), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
