//! `/v1/me/factors` and `/v1/me/recovery-codes`: the caller's second factors.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::{self, FactorList, FactorView, PatternChannel, TotpEnrolment};
use crate::services::passkeys::{self, PasskeyEnrolment};
use crate::state::AppState;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(enrol_totp))
        .routes(routes!(enrol_sms))
        .routes(routes!(enrol_passkey))
        .routes(routes!(finish_passkey))
        .routes(routes!(enrol_email))
        .routes(routes!(enrol_pattern))
        .routes(routes!(confirm))
        .routes(routes!(remove))
        .routes(routes!(recovery_codes))
}

/// The caller's second factors.
#[utoipa::path(get, path = "/v1/me/factors", tag = "factors", operation_id = "list_factors", security(("bearer" = [])),
    responses((status = 200, body = FactorList), (status = 401, body = Problem)))]
async fn list(State(state): State<AppState>, auth: AuthSession) -> ApiResult<Json<FactorList>> {
    Ok(Json(factors::list(&state, auth.account).await?))
}

/// TOTP enrolment request.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrolTotp {
    /// A name for the authenticator, e.g. "phone".
    label: Option<String>,
}

/// Starts enrolling an authenticator app: returns the secret, the `otpauth://` URI and its
/// QR code, once. Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/totp", tag = "factors", security(("bearer" = [])),
    request_body = EnrolTotp,
    responses((status = 201, body = TotpEnrolment), (status = 400, body = Problem), (status = 401, body = Problem), BodyRejection))]
async fn enrol_totp(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolTotp>,
) -> ApiResult<(StatusCode, Json<TotpEnrolment>)> {
    let enrolment = factors::enrol_totp(&state, &auth, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// SMS enrolment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolSms {
    /// Phone number in E.164 form, e.g. `+14155552671` (spaces, dashes, dots and
    /// parentheses are ignored).
    phone: String,
    /// A name for it.
    label: Option<String>,
}

/// Registers a phone number and texts it a code; confirming the code verifies the number.
/// Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/sms", tag = "factors", security(("bearer" = [])),
    request_body = EnrolSms,
    responses((status = 201, body = FactorView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 429, body = Problem), (status = 502, body = Problem), BodyRejection))]
async fn enrol_sms(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolSms>,
) -> ApiResult<(StatusCode, Json<FactorView>)> {
    let view = factors::enrol_sms(&state, &auth, &req.phone, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Codes by e-mail: sends a first code to the account's address for confirmation. Needs a
/// recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/email", tag = "factors", security(("bearer" = [])),
    request_body = EnrolTotp,
    responses((status = 201, body = FactorView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn enrol_email(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolTotp>,
) -> ApiResult<(StatusCode, Json<FactorView>)> {
    let view = factors::enrol_email(&state, &auth, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Where a pattern OTP's patterns go.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum PatternChannelName {
    /// The account's e-mail address.
    Email,
    /// A text message to `phone`.
    Sms,
}

/// Pattern OTP enrolment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolPattern {
    /// `email` (the account's address) or `sms` (the `phone` given here).
    channel: PatternChannelName,
    /// For `sms`: the number in E.164 form, e.g. `+14155552671` (spaces, dashes, dots and
    /// parentheses are ignored). Proven by the first pattern sent to it coming back.
    phone: Option<String>,
    /// A name for it.
    label: Option<String>,
}

/// Pattern OTP: sends a first pattern (k distinct dots of an n×n grid, numbered 1 to n² row
/// by row from the top left; 6 of 4×4 by default) by e-mail or SMS; drawing it back at
/// `POST /v1/me/factors/{id}/confirm` (`pattern`) confirms the factor. Needs a recent
/// authentication.
#[utoipa::path(post, path = "/v1/me/factors/pattern", tag = "factors", security(("bearer" = [])),
    request_body = EnrolPattern,
    responses((status = 201, body = FactorView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 429, body = Problem), (status = 502, body = Problem), BodyRejection))]
async fn enrol_pattern(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolPattern>,
) -> ApiResult<(StatusCode, Json<FactorView>)> {
    let channel = match req.channel {
        PatternChannelName::Email => PatternChannel::Email,
        PatternChannelName::Sms => PatternChannel::Sms(req.phone.as_deref().unwrap_or_default()),
    };
    let view = factors::enrol_pattern(&state, &auth, channel, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Starts registering a passkey: the `PublicKeyCredentialCreationOptions` to pass to
/// `navigator.credentials.create`. Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/passkey", tag = "factors", security(("bearer" = [])),
    request_body = EnrolTotp,
    responses((status = 201, body = PasskeyEnrolment), (status = 400, body = Problem), (status = 401, body = Problem), BodyRejection))]
async fn enrol_passkey(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolTotp>,
) -> ApiResult<(StatusCode, Json<PasskeyEnrolment>)> {
    let enrolment = passkeys::start_registration(&state, &auth, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// The browser's answer to the creation options.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishPasskey {
    /// The `PublicKeyCredential` from `navigator.credentials.create`, JSON-encoded.
    #[schema(value_type = Object)]
    credential: RegisterPublicKeyCredential,
}

/// Finishes registering a passkey with the browser's attestation.
#[utoipa::path(post, path = "/v1/me/factors/passkey/{id}/finish", tag = "factors", security(("bearer" = [])),
    request_body = FinishPasskey, params(("id" = String, Path, description = "factor id")),
    responses((status = 200, body = FactorView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), BodyRejection))]
async fn finish_passkey(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FinishPasskey>,
) -> ApiResult<Json<FactorView>> {
    Ok(Json(
        passkeys::finish_registration(&state, &auth, &id, &req.credential, &client).await?,
    ))
}

/// A first code from the new authenticator, or the first pattern drawn back: one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmFactor {
    /// The code (every kind but `pattern_otp`).
    code: Option<String>,
    /// For `pattern_otp`: the dot numbers sent, in order, e.g. `[3, 7, 12, 1, 5, 9]`.
    pattern: Option<Vec<u32>>,
}

/// Confirms an enrolment with a first code; from then on logins need a second factor.
#[utoipa::path(post, path = "/v1/me/factors/{id}/confirm", tag = "factors", security(("bearer" = [])),
    request_body = ConfirmFactor, params(("id" = String, Path, description = "factor id")),
    responses((status = 200, body = FactorView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), BodyRejection))]
async fn confirm(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmFactor>,
) -> ApiResult<Json<FactorView>> {
    let code = match (req.code, req.pattern) {
        (Some(code), None) => code,
        // The service reads a pattern as its dots' text, as the pages post it.
        (None, Some(dots)) => dots
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("-"),
        _ => {
            return Err(
                ServiceError::invalid(Invalid::Code, "send either a code or a pattern").into(),
            );
        }
    };
    Ok(Json(
        factors::confirm(&state, &auth, &id, &code, &client).await?,
    ))
}

/// Removes a factor. Needs a recent authentication (step up first).
#[utoipa::path(delete, path = "/v1/me/factors/{id}", tag = "factors", security(("bearer" = [])),
    params(("id" = String, Path, description = "factor id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn remove(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    factors::remove(&state, &auth, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new set of recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; the previous set no longer works.
    codes: Vec<String>,
}

/// Generates ten recovery codes, replacing any earlier set. Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/recovery-codes", tag = "factors", security(("bearer" = [])),
    responses((status = 201, body = RecoveryCodes), (status = 401, body = Problem)))]
async fn recovery_codes(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
) -> ApiResult<(StatusCode, Json<RecoveryCodes>)> {
    let codes = factors::regenerate_recovery_codes(&state, &auth, &client).await?;
    Ok((StatusCode::CREATED, Json(RecoveryCodes { codes })))
}
