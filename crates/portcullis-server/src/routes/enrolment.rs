//! `/v1/sessions/challenges/{id}/enrolment`: a login in the `enrolment_required` state
//! enrols the second factor its role demands, with the restricted token of its 202 answer
//! (`Authorization: Bearer …`), then completes; or it is abandoned. The token works nowhere
//! else ([`login::enrolment`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::ChallengeId;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::ServiceError;
use crate::services::factors::TotpEnrolment;
use crate::services::login::{LoginStep, enrolment};
use crate::services::sessions::TokenResponse;
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrolment_totp))
        .routes(routes!(enrolment_confirm))
        .routes(routes!(enrolment_abandon))
}

const NO_TOKEN: ServiceError = ServiceError::Unauthenticated("the enrolment token is not valid");

/// The challenge id and the restricted token of a request; an unparsable id reads like a
/// wrong token, so nothing tells challenges apart without their token.
fn credentials(id: &str, headers: &HeaderMap) -> Result<(ChallengeId, String), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .ok_or(NO_TOKEN)?;
    let id = id.parse().map_err(|_| NO_TOKEN)?;
    Ok((id, token))
}

/// TOTP enrolment at login.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentTotp {
    /// A name for the authenticator, e.g. "phone".
    label: Option<String>,
}

/// Starts enrolling an authenticator app for the account of a login that waits for
/// enrolment: the secret, the `otpauth://` URI and its QR code, once. Only with the login's
/// restricted token, only while the account has no second factor, only when the role accepts
/// `totp`.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}/enrolment/totp", tag = "sessions",
    security(("enrolment" = [])), request_body = EnrolmentTotp,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 201, body = TotpEnrolment), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 410, body = Problem), BodyRejection))]
async fn enrolment_totp(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EnrolmentTotp>,
) -> ApiResult<(StatusCode, Json<TotpEnrolment>)> {
    let (id, token) = credentials(&id, &headers)?;
    let started = enrolment::start_totp(&state, id, &token, req.label, &client).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// The first code of the factor being enrolled.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentConfirm {
    /// The `id` the enrolment answered with.
    factor_id: String,
    /// The first code.
    code: String,
}

/// Confirms the factor being enrolled with its first code, which also answers the login:
/// 201 with the session's tokens (`acr` of the password and the new factor). A wrong code
/// counts against the login's attempts. The restricted token is spent.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}/enrolment/confirm", tag = "sessions",
    security(("enrolment" = [])), request_body = EnrolmentConfirm,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 201, body = TokenResponse), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 410, body = Problem), BodyRejection))]
async fn enrolment_confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EnrolmentConfirm>,
) -> ApiResult<Response> {
    let (id, token) = credentials(&id, &headers)?;
    let step = enrolment::confirm(&state, id, &token, &req.factor_id, &req.code, &client).await?;
    Ok(match step {
        LoginStep::Complete(tokens) => (StatusCode::CREATED, Json(tokens)).into_response(),
        // The grant is closed; a policy that needs yet more factors cannot be met here.
        LoginStep::SteppedUp(_) | LoginStep::Pending(_) => {
            return Err(ServiceError::Forbidden(
                "your role requires more factors than can be enrolled at login: ask an administrator",
            )
            .into());
        }
    })
}

/// Abandons a login that waits for enrolment (the restricted session's sign-out): its token
/// stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/challenges/{id}/enrolment", tag = "sessions",
    security(("enrolment" = [])), params(("id" = String, Path, description = "challenge id")),
    responses((status = 204), (status = 401, body = Problem)))]
async fn enrolment_abandon(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (id, token) = credentials(&id, &headers)?;
    enrolment::abandon(&state, id, &token, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
