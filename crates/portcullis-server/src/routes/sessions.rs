//! `/v1/sessions`: login (a challenge), listing and ending sessions.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::{ChallengeId, SessionId};
use portcullis_core::login::FactorKind;
use portcullis_core::password::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::ServiceError;
use crate::services::accounts::session_json;
use crate::services::login::{self, Answer, LoginStep, PendingLogin, WalletAnswer};
use crate::services::sessions::{self, TokenResponse};
use crate::state::AppState;
use crate::upload::{self, Base64Image};

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_start, list, logout_everywhere))
        .merge(answers())
        .routes(routes!(send_code))
        .routes(routes!(passkey_options))
        .routes(routes!(step_up_passkey_options))
        .routes(routes!(step_up))
        .routes(routes!(send_step_up_code))
        .routes(routes!(logout_current))
        .routes(routes!(revoke_one))
}

/// The answer routes, which alone take a body large enough for an image passcode in base64.
fn answers() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(answer_challenge))
        .routes(routes!(answer_step_up))
        .layer(DefaultBodyLimit::max(upload::JSON_LIMIT))
}

/// Login request: the e-mail, and the password when the client has it already.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's e-mail (not with `passkey`).
    email: Option<String>,
    /// The password, to answer it at once.
    password: Option<String>,
    /// Sign in without a password, with a discoverable passkey: the answer carries the
    /// WebAuthn request options; answer the challenge with the assertion.
    #[serde(default)]
    passkey: bool,
}

/// What a [`LoginRequest`] asks for, once its fields agree.
#[derive(Debug)]
pub enum LoginStart {
    /// A passwordless login with a discoverable passkey.
    Passkey,
    /// A login by e-mail, with the password when it came along.
    Email {
        /// The e-mail as sent (the service parses it).
        email: String,
        /// The password, to answer it at once.
        password: Option<Password>,
    },
}

impl LoginRequest {
    /// Which login the request starts: a passkey login takes neither e-mail nor password,
    /// any other needs the e-mail. Pure, so the fuzz target `login_challenge` checks it.
    ///
    /// # Errors
    /// A 400 `invalid-body` for a request that mixes the two or has no e-mail.
    pub fn start(self) -> Result<LoginStart, ApiError> {
        match (self.passkey, self.email) {
            (true, None) if self.password.is_none() => Ok(LoginStart::Passkey),
            (true, _) => Err(ApiError::bad_request(
                "invalid-body",
                "a passkey login takes neither e-mail nor password",
            )),
            (false, Some(email)) => Ok(LoginStart::Email {
                email,
                password: self.password.map(Password::new),
            }),
            (false, None) => Err(ApiError::bad_request(
                "invalid-body",
                "missing field `email`",
            )),
        }
    }
}

fn step_response(step: LoginStep) -> Response {
    match step {
        LoginStep::Complete(tokens) => (StatusCode::CREATED, Json(tokens)).into_response(),
        LoginStep::SteppedUp(tokens) => (StatusCode::OK, Json(tokens)).into_response(),
        LoginStep::Pending(p) => (StatusCode::ACCEPTED, Json(p)).into_response(),
    }
}

/// Starts a login. 201 with tokens when the policy is met, 202 with a challenge otherwise.
/// Unknown accounts and wrong passwords answer alike.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = LoginRequest,
    responses((status = 201, body = TokenResponse), (status = 202, body = PendingLogin),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn login_start(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let step = match req.start()? {
        LoginStart::Passkey => login::start_passwordless(&state, &client).await?,
        LoginStart::Email { email, password } => {
            login::start(&state, &email, password, &client).await?
        }
    };
    Ok(step_response(step))
}

/// An answer to one factor of a challenge.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "factor", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChallengeAnswer {
    /// The account password.
    Password {
        /// The password.
        password: String,
    },
    /// A 6-digit code from an authenticator app.
    Totp {
        /// The code.
        code: String,
    },
    /// One of the recovery codes (`xxxxx-xxxxx`).
    RecoveryCode {
        /// The code.
        code: String,
    },
    /// The code texted to the verified phone (send it first).
    Sms {
        /// The code.
        code: String,
    },
    /// The code e-mailed to the account's address (send it first).
    EmailOtp {
        /// The code.
        code: String,
    },
    /// The pattern sent by e-mail or SMS (send it first): its dot numbers in the order to
    /// draw them (1 to n², row by row from the top left of the n×n grid), e.g.
    /// `[3, 7, 12, 1, 5, 9]`.
    PatternOtp {
        /// The dots, in order.
        pattern: Vec<u32>,
    },
    /// A WebAuthn assertion from `navigator.credentials.get` (get the options first).
    Passkey {
        /// The `PublicKeyCredential`, JSON-encoded.
        #[schema(value_type = Object)]
        credential: Box<webauthn_rs::prelude::PublicKeyCredential>,
    },
    /// The image passcode: the exact file enrolled, in standard base64 (at most 5 MiB
    /// before encoding).
    Image {
        /// The file's bytes, base64.
        #[schema(value_type = String, format = Byte)]
        image: Base64Image,
    },
    /// The gesture passcode in canonical form (`click@5 dblclick@1 …`, see
    /// `POST /v1/me/factors/gesture`).
    Gesture {
        /// The gesture.
        gesture: String,
    },
    /// The wallet's two `personal_sign` signatures (`0x` and 130 hex digits each) over the
    /// texts of `POST /v1/sessions/challenges/{id}/wallet-message` (ask for them first).
    Wallet {
        /// Over the Sign-In with Ethereum message.
        signature: String,
        /// Over the session key delegation.
        delegation_signature: String,
    },
}

impl From<ChallengeAnswer> for Answer {
    fn from(a: ChallengeAnswer) -> Self {
        match a {
            ChallengeAnswer::Password { password } => Answer::Password(Password::new(password)),
            ChallengeAnswer::Totp { code } => Answer::Totp(code),
            ChallengeAnswer::RecoveryCode { code } => Answer::RecoveryCode(code),
            ChallengeAnswer::Sms { code } => Answer::Sms(code),
            ChallengeAnswer::EmailOtp { code } => Answer::EmailOtp(code),
            ChallengeAnswer::Passkey { credential } => Answer::Passkey(credential),
            ChallengeAnswer::PatternOtp { pattern } => Answer::PatternOtp(pattern),
            ChallengeAnswer::Image { image } => Answer::Image(image.0),
            ChallengeAnswer::Gesture { gesture } => Answer::Gesture(gesture),
            ChallengeAnswer::Wallet {
                signature,
                delegation_signature,
            } => Answer::Wallet(WalletAnswer {
                signature,
                delegation_signature,
            }),
        }
    }
}

/// Answers a factor of a pending login.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}", tag = "sessions", request_body = ChallengeAnswer,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 201, body = TokenResponse), (status = 202, body = PendingLogin),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 410, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn answer_challenge(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChallengeAnswer>,
) -> ApiResult<Response> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    Ok(step_response(
        login::answer(&state, id, req.into(), None, &client).await?,
    ))
}

/// Which code to send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCode {
    /// `sms`, `email_otp` or `pattern_otp`.
    #[schema(value_type = String)]
    factor: FactorKind,
}

/// A sent code's lifetime.
#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the code stays valid.
    expires_in: i64,
}

/// Sends the code of an SMS or e-mail factor, or a pattern OTP's pattern, for a pending login.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}/send", tag = "sessions", request_body = SendCode,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 202, body = CodeSent), (status = 400, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem),
        (status = 429, body = Problem), (status = 502, body = Problem), BodyRejection))]
async fn send_code(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SendCode>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    let expires_in = login::send_code(&state, id, req.factor, None, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_in })))
}

/// Sends the code of an SMS or e-mail factor, or a pattern OTP's pattern, for a step-up of
/// the current session.
#[utoipa::path(post, path = "/v1/sessions/current/step-up/{id}/send", tag = "sessions", security(("bearer" = [])),
    request_body = SendCode, params(("id" = String, Path, description = "challenge id")),
    responses((status = 202, body = CodeSent), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem), (status = 502, body = Problem), BodyRejection))]
async fn send_step_up_code(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SendCode>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    let expires_in = login::send_code(&state, id, req.factor, Some(auth.session), &client).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_in })))
}

/// WebAuthn request options for a pending login that waits for a passkey.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}/passkey-options", tag = "sessions",
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem)))]
async fn passkey_options(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    Ok(Json(
        login::passkey_options(&state, id, None, &client).await?,
    ))
}

/// WebAuthn request options for a step-up of the current session with a passkey.
#[utoipa::path(post, path = "/v1/sessions/current/step-up/{id}/passkey-options", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn step_up_passkey_options(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    Ok(Json(
        login::passkey_options(&state, id, Some(auth.session), &client).await?,
    ))
}

/// Step-up request.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    /// When the session authenticated at most this many seconds ago, a new token is issued
    /// without a challenge (OpenID Connect `max_age`).
    max_age: Option<i64>,
    /// The `acr_values` of the RFC 9470 challenge being answered, e.g. `aal2`: the token is
    /// issued without a challenge only when the session is already at that level.
    acr_values: Option<String>,
}

/// Raises the current session's assurance: 202 with a challenge for a fresh factor (a
/// second factor when one is enrolled, else the password), or 200 with a new access token
/// when `max_age` (and `acr_values`, when given) is already satisfied. The new token
/// carries a new `auth_time`, the higher
/// `acr` and the combined `amr`.
#[utoipa::path(post, path = "/v1/sessions/current/step-up", tag = "sessions", security(("bearer" = [])),
    request_body = StepUpRequest,
    responses((status = 200, body = TokenResponse), (status = 202, body = PendingLogin),
        (status = 400, body = Problem), (status = 401, body = Problem), BodyRejection))]
async fn step_up(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> ApiResult<Response> {
    Ok(step_response(
        login::step_up(
            &state,
            &auth,
            req.max_age,
            req.acr_values.as_deref(),
            &client,
        )
        .await?,
    ))
}

/// Answers the factor of a step-up challenge of the current session.
#[utoipa::path(post, path = "/v1/sessions/current/step-up/{id}", tag = "sessions", security(("bearer" = [])),
    request_body = ChallengeAnswer,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 200, body = TokenResponse), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn answer_step_up(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChallengeAnswer>,
) -> ApiResult<Response> {
    let id: ChallengeId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    Ok(step_response(
        login::answer(&state, id, req.into(), Some(auth.session), &client).await?,
    ))
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", operation_id = "list_sessions", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    auth: AuthSession,
) -> ApiResult<Json<serde_json::Value>> {
    let live = state
        .store
        .sessions
        .list_live(auth.account, state.now())
        .await?;
    let sessions: Vec<_> = live
        .iter()
        .map(|s| {
            let mut v = session_json(s);
            v["current"] = serde_json::Value::Bool(s.id == auth.session);
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "sessions": sessions })))
}

/// Logs out everywhere: every session of the account ends.
#[utoipa::path(delete, path = "/v1/sessions", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout_everywhere(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    sessions::revoke_all(&state, auth.account, None, "logout_everywhere", &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs out: the current session ends and its tokens stop working at once.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout_current(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    sessions::revoke(&state, auth.account, auth.session, "logout", &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_one(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: SessionId = id
        .parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))?;
    sessions::revoke(&state, auth.account, id, "revoked_by_user", &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
