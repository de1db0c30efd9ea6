//! `/v1/wallets`: custodial wallets, for front-end applications acting for a signed-in
//! user. Every route needs both the application's API key (`X-API-Key`, with the route's
//! scope) and the user's access token, as in the headless-wallet model: the key says which
//! application asks, the token whose wallets it may touch.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use portcullis_core::api_key::ApiScope;
use portcullis_core::password::Password;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AuthSession, require_app};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::custody::{
    self, BalanceView, SendOrder, SendView, SignatureView, TransferView, WalletView,
};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_wallets, create_wallet))
        .routes(routes!(get_wallet))
        .routes(routes!(wallet_balance))
        .routes(routes!(wallet_history))
        .routes(routes!(list_sends, send))
        .routes(routes!(get_send))
        .routes(routes!(sign_message))
}

/// A new wallet.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWallet {
    /// The account's password: with the server's keyring it seals the wallet's key, and it
    /// is asked again at each send.
    password: String,
    /// A name for the wallet (1 to 64 characters; default "Wallet").
    label: Option<String>,
}

/// A send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSend {
    /// Recipient: `0x` and 40 hex digits (EIP-55 when mixed case).
    to: String,
    /// Wei, as a decimal string.
    value: String,
    /// Call data, `0x`-hex (at most 32 KiB).
    data: Option<String>,
    /// The account's password, which opens the wallet's key.
    password: String,
}

/// A message to sign.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignature {
    /// UTF-8 text, 1 to 4096 bytes, signed per EIP-191 (`personal_sign`).
    message: String,
    /// The account's password.
    password: String,
}

/// How many entries to list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// 1 to 200 (default 50).
    limit: Option<u16>,
}

/// Makes a custodial wallet: the server generates its secp256k1 key, seals it with the
/// keyring and the password, and never shows it. Scope `wallets:create`.
#[utoipa::path(post, path = "/v1/wallets", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), request_body = NewWallet,
    responses((status = 201, body = WalletView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 429, body = Problem),
        (status = 503, body = Problem), BodyRejection))]
async fn create_wallet(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<NewWallet>,
) -> ApiResult<(StatusCode, Json<WalletView>)> {
    require_app(&state, &headers, ApiScope::WalletsCreate).await?;
    let wallet = custody::create(
        &state,
        auth.account,
        Password::new(req.password),
        req.label,
        &client,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(wallet)))
}

/// The user's wallets, oldest first. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets", tag = "wallets",
    security(("api_key" = [], "bearer" = [])),
    responses((status = 200, body = [WalletView]), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 429, body = Problem)))]
async fn list_wallets(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
) -> ApiResult<Json<Vec<WalletView>>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    Ok(Json(custody::list(&state, auth.account).await?))
}

/// One wallet: its address. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets/{id}", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WalletView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)))]
async fn get_wallet(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    Path(id): Path<String>,
) -> ApiResult<Json<WalletView>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    Ok(Json(custody::get(&state, auth.account, &id).await?))
}

/// A wallet's balance, read from the chain node. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets/{id}/balance", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = BalanceView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn wallet_balance(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    Path(id): Path<String>,
) -> ApiResult<Json<BalanceView>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    Ok(Json(custody::balance(&state, auth.account, &id).await?))
}

/// A wallet's transfers sent and received, newest first, read from the chain node's
/// traces. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets/{id}/history", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path),
        ("limit" = Option<u16>, Query, description = "1 to 200 (default 50)")),
    responses((status = 200, body = [TransferView]), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem),
        (status = 503, body = Problem)))]
async fn wallet_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<Limit>,
) -> ApiResult<Json<Vec<TransferView>>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    let limit = usize::from(q.limit.unwrap_or(50));
    Ok(Json(
        custody::history(&state, auth.account, &id, limit).await?,
    ))
}

/// Sends ETH (and optional call data) from a wallet. Needs a TOTP or passkey authentication
/// at most `[custody] send_max_age_secs` old (otherwise 401 with an RFC 9470 challenge:
/// step up and retry), the password, and room under the spending limits. Answers 202 with
/// the send `pending` (follow it at `/v1/wallets/{id}/transactions/{send}` to its receipt);
/// every refusal is a problem and nothing is sent. Scope `wallets:send`.
#[utoipa::path(post, path = "/v1/wallets/{id}/transactions", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path)),
    request_body = NewSend,
    responses((status = 202, body = SendView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem), BodyRejection))]
async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewSend>,
) -> ApiResult<(StatusCode, Json<SendView>)> {
    require_app(&state, &headers, ApiScope::WalletsSend).await?;
    let order = SendOrder {
        to: req.to,
        value: req.value,
        data: req.data,
        password: Password::new(req.password),
    };
    let sent = custody::send(&state, &auth, &id, order, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// A wallet's sends, newest first, refused ones included. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets/{id}/transactions", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path),
        ("limit" = Option<u16>, Query, description = "1 to 200 (default 50)")),
    responses((status = 200, body = [SendView]), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
async fn list_sends(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<Limit>,
) -> ApiResult<Json<Vec<SendView>>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    let limit = i64::from(q.limit.unwrap_or(50));
    Ok(Json(custody::sends(&state, &auth, &id, limit).await?))
}

/// One send, with its status and, once mined, its receipt. Scope `wallets:read`.
#[utoipa::path(get, path = "/v1/wallets/{id}/transactions/{send}", tag = "wallets",
    security(("api_key" = [], "bearer" = [])),
    params(("id" = String, Path), ("send" = String, Path)),
    responses((status = 200, body = SendView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)))]
async fn get_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    Path((id, send_id)): Path<(String, String)>,
) -> ApiResult<Json<SendView>> {
    require_app(&state, &headers, ApiScope::WalletsRead).await?;
    Ok(Json(custody::send_of(&state, &auth, &id, &send_id).await?))
}

/// Signs a message with a wallet's key per EIP-191 (`personal_sign`), for logging in to
/// dApps. Scope `wallets:sign`.
#[utoipa::path(post, path = "/v1/wallets/{id}/signatures", tag = "wallets",
    security(("api_key" = [], "bearer" = [])), params(("id" = String, Path)),
    request_body = NewSignature,
    responses((status = 200, body = SignatureView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn sign_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewSignature>,
) -> ApiResult<Json<SignatureView>> {
    require_app(&state, &headers, ApiScope::WalletsSign).await?;
    let signed = custody::sign_message(
        &state,
        &auth,
        &id,
        req.message,
        Password::new(req.password),
        &client,
    )
    .await?;
    Ok(Json(signed))
}
