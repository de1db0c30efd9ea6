//! `/v1/me/factors/image` and `/v1/me/factors/gesture`: enrolling the passcodes. Listing and
//! removal are those of every factor (`routes/factors.rs`); the answers at a login or
//! step-up are `ChallengeAnswer`'s `image` and `gesture` (`routes/sessions.rs`).
//!
//! An image is enrolled as `multipart/form-data` (a file field, what a browser form and
//! every HTTP client send for a file); only this route takes a body up to
//! [`upload::MULTIPART_LIMIT`].

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::factors::{self, FactorView};
use crate::state::AppState;
use crate::upload::{self, UploadError};

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    let image = OpenApiRouter::new()
        .routes(routes!(enrol_image))
        .layer(DefaultBodyLimit::max(upload::MULTIPART_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(enrol_gesture))
        .merge(image)
}

/// The form that enrols an image passcode.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "documents the multipart form; read by `upload::read`"
)]
pub struct EnrolImage {
    /// The image file: PNG, JPEG or WebP (recognised by content), 4 KiB to 5 MiB, at least
    /// 64×64 pixels. Keep the exact file: any change to its bytes makes another passcode.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// A name for it.
    label: Option<String>,
}

/// A multipart body, its rejections as problem+json.
struct ImageForm(upload::Upload);

impl FromRequest<AppState> for ImageForm {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let form = Multipart::from_request(req, state).await.map_err(|_| {
            ApiError::UnsupportedMediaType("expected `Content-Type: multipart/form-data`".into())
        })?;
        match upload::read(form, "image").await {
            Ok(upload) => Ok(ImageForm(upload)),
            Err(UploadError::TooLarge) => Err(ApiError::PayloadTooLarge),
            Err(UploadError::Malformed(detail)) => {
                Err(ApiError::bad_request("invalid-body", detail))
            }
        }
    }
}

/// Enrols an image passcode from an uploaded file; it is confirmed at once. Only an argon2id
/// hash of the file's SHA-256 is kept; the file is never stored or returned. Answer a login
/// or step-up with the same file (`factor: "image"`). Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/image", tag = "factors", security(("bearer" = [])),
    request_body(content = EnrolImage, content_type = "multipart/form-data"),
    responses((status = 201, body = FactorView),
        (status = 400, description = "No `image` field, or an image that does not decode or is under 4 KiB or 64×64 pixels (`invalid-image`), or a bad label", body = Problem),
        (status = 401, body = Problem),
        (status = 413, description = "Larger than 5 MiB (`image-too-large`, `payload-too-large`)", body = Problem),
        (status = 415, description = "Not a PNG, JPEG or WebP by content (`unsupported-image-type`), or not a multipart form", body = Problem)))]
async fn enrol_image(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ImageForm(mut form): ImageForm,
) -> ApiResult<(StatusCode, Json<FactorView>)> {
    let image = form
        .file
        .take()
        .ok_or_else(|| ApiError::bad_request("invalid-body", "missing field `image`"))?;
    let label = form.text.remove("label").filter(|l| !l.is_empty());
    let view = factors::enrol_image(&state, &auth, label, image, &client).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Gesture enrolment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolGesture {
    /// The gesture in canonical form: 6 to 32 events separated by a space, each
    /// `EVENT@CELL` with `EVENT` one of `click`, `dblclick`, `rightclick`, `scrollup`,
    /// `scrolldown` and `CELL` 1 to 9 on the 3×3 pad in reading order (1 top left, 9 bottom
    /// right). Refused when it has fewer than three distinct events, repeats a block of up to
    /// three, or is one kind of event in a straight line or a common shape.
    #[schema(example = "click@5 dblclick@1 scrollup@9 rightclick@3 click@7 scrolldown@2")]
    gesture: String,
    /// A name for it.
    label: Option<String>,
}

/// Enrols a gesture passcode; it is confirmed at once and kept only as an argon2id hash.
/// A knowledge factor: with the password it does not make `aal2`. Needs a recent
/// authentication.
#[utoipa::path(post, path = "/v1/me/factors/gesture", tag = "factors", security(("bearer" = [])),
    request_body = EnrolGesture,
    responses((status = 201, body = FactorView), (status = 400, description = "A malformed or weak gesture (`invalid-gesture`), or a bad label", body = Problem),
        (status = 401, body = Problem), BodyRejection))]
async fn enrol_gesture(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolGesture>,
) -> ApiResult<(StatusCode, Json<FactorView>)> {
    let view = factors::enrol_gesture(&state, &auth, req.label, &req.gesture, &client).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
