//! Wallet sign-in routes: binding a wallet to the caller's account, and the message a
//! wallet signs for a login's (or a step-up's) wallet factor.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use portcullis_core::ids::ChallengeId;

use crate::auth::AuthSession;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::ServiceError;
use crate::services::factors::{self, WalletEnrolment};
use crate::services::login::{self, TokenHolder, WalletMessage};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrol_wallet))
        .routes(routes!(wallet_message))
        .routes(routes!(step_up_wallet_message))
}

/// Wallet enrolment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolWallet {
    /// The wallet's Ethereum address (`0x` and 40 hex digits; EIP-55 checksum when mixed
    /// case).
    address: String,
    /// A name for it.
    label: Option<String>,
}

/// Starts binding a wallet: returns the Sign-In with Ethereum message it must sign. Confirm
/// with the signature as `code` at `POST /v1/me/factors/{id}/confirm`; that mints the
/// account's AuthNFT to the address on the `auth` ledger and replaces an earlier wallet.
/// Needs a recent authentication.
#[utoipa::path(post, path = "/v1/me/factors/wallet", tag = "factors", security(("bearer" = [])),
    request_body = EnrolWallet,
    responses((status = 201, body = WalletEnrolment), (status = 400, body = Problem), (status = 401, body = Problem), BodyRejection))]
async fn enrol_wallet(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<EnrolWallet>,
) -> ApiResult<(StatusCode, Json<WalletEnrolment>)> {
    let enrolment = factors::enrol_wallet(&state, &auth, req.label, &req.address, &client).await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// The session key a wallet delegates to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletMessageRequest {
    /// The public JWK of the key that will sign this session's DPoP proofs: `{"kty":"EC",
    /// "crv":"secp256k1","x":…,"y":…}` (ES256K) or `{"kty":"OKP","crv":"Ed25519","x":…}`
    /// (EdDSA). Its thumbprint goes into the delegation and into the session's tokens.
    #[schema(value_type = Object)]
    session_key: serde_json::Value,
}

fn challenge_id(id: &str) -> Result<ChallengeId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::from(ServiceError::NotFound))
}

/// The texts the wallet signs for a pending login that waits for it: the Sign-In with
/// Ethereum message and the delegation of the session key. Answer with both signatures
/// (`factor: wallet`) at `POST /v1/sessions/challenges/{id}`; each message is answered once.
#[utoipa::path(post, path = "/v1/sessions/challenges/{id}/wallet-message", tag = "sessions",
    request_body = WalletMessageRequest, params(("id" = String, Path, description = "challenge id")),
    responses((status = 200, body = WalletMessage), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn wallet_message(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WalletMessageRequest>,
) -> ApiResult<Json<WalletMessage>> {
    let id = challenge_id(&id)?;
    Ok(Json(
        login::wallet_message(
            &state,
            id,
            &req.session_key,
            None,
            TokenHolder::SessionKey,
            &client,
        )
        .await?,
    ))
}

/// As the login's wallet message, for a step-up of the current session with the wallet.
#[utoipa::path(post, path = "/v1/sessions/current/step-up/{id}/wallet-message", tag = "sessions",
    security(("bearer" = [])), request_body = WalletMessageRequest,
    params(("id" = String, Path, description = "challenge id")),
    responses((status = 200, body = WalletMessage), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn step_up_wallet_message(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WalletMessageRequest>,
) -> ApiResult<Json<WalletMessage>> {
    let id = challenge_id(&id)?;
    Ok(Json(
        login::wallet_message(
            &state,
            id,
            &req.session_key,
            Some(auth.session),
            TokenHolder::SessionKey,
            &client,
        )
        .await?,
    ))
}
