//! Wallet sign-in routes: binding a wallet to the caller's account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::factors::{self, WalletEnrolment};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enrol_wallet))
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
