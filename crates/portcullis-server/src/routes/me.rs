//! `/v1/me`: the caller's own account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use portcullis_core::password::Password;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::accounts::{self, Profile, ProfileUpdate};
use crate::services::credentials;
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, patch_me, delete_me))
        .routes(routes!(export))
        .routes(routes!(change_password))
}

/// The caller's profile.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = Problem)))]
async fn get_me(State(state): State<AppState>, auth: AuthSession) -> ApiResult<Json<Profile>> {
    let account = accounts::live_account(&state, auth.account).await?;
    Ok(Json(accounts::profile(&state, &account).await?))
}

/// Profile changes; `null` clears a field, an absent field stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Updates the display name or phone number.
#[utoipa::path(patch, path = "/v1/me", tag = "me", security(("bearer" = [])), request_body = PatchMe,
    responses((status = 200, body = Profile), (status = 400, body = Problem), (status = 401, body = Problem), BodyRejection))]
async fn patch_me(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<PatchMe>,
) -> ApiResult<Json<Profile>> {
    let update = ProfileUpdate {
        display_name: req.display_name,
        phone: req.phone,
    };
    Ok(Json(
        accounts::update_profile(&state, auth.account, update, &client).await?,
    ))
}

/// Confirms a sensitive action with the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirmation {
    password: String,
}

/// Deletes the account: its data key is destroyed, so its personal data can never be read again.
#[utoipa::path(delete, path = "/v1/me", tag = "me", security(("bearer" = [])), request_body = PasswordConfirmation,
    responses((status = 204), (status = 401, body = Problem), BodyRejection))]
async fn delete_me(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<PasswordConfirmation>,
) -> ApiResult<StatusCode> {
    accounts::delete(&state, auth.account, Password::new(req.password), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything held on the account (GDPR data export).
#[utoipa::path(get, path = "/v1/me/export", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem)))]
async fn export(
    State(state): State<AppState>,
    auth: AuthSession,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(accounts::export(&state, auth.account).await?))
}

/// Password change request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Changes the password; every other session of the account ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem), BodyRejection))]
async fn change_password(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    credentials::change_password(
        &state,
        auth.account,
        auth.session,
        Password::new(req.current_password),
        Password::new(req.new_password),
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
