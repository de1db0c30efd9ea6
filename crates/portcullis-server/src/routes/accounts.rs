//! `/v1/accounts`: registration and e-mail verification.

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
use crate::services::accounts::{self, Registered, Registration};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify))
}

/// Registration request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// E-mail address; a verification link is sent there.
    email: String,
    /// Password (8–128 characters, not easily guessed).
    password: String,
    /// Optional display name.
    display_name: Option<String>,
    /// Optional phone number in E.164 form, e.g. `+14155552671`.
    phone: Option<String>,
}

/// Registers an account; it stays `pending` until the e-mail is verified. The answer is the
/// same whether or not the address already has an account.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = Registered), (status = 400, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, axum::Json<Registered>)> {
    let reg = Registration {
        email: req.email,
        password: Password::new(req.password),
        display_name: req.display_name,
        phone: req.phone,
    };
    let out = accounts::register(&state, reg, &client).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Verification request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The `token` query parameter of the mailed link.
    token: String,
}

/// Verifies an e-mail address with the single-use token from the mail.
#[utoipa::path(post, path = "/v1/accounts/verify", tag = "accounts", request_body = VerifyRequest,
    responses((status = 204), (status = 400, body = Problem), BodyRejection))]
async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ApiResult<StatusCode> {
    accounts::verify_email(&state, &req.token, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
