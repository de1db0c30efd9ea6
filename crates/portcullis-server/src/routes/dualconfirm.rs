//! `/v1/dualconfirm/…`: pairs, invitations, the current words and the check of a heard word.
//! The live feed is the WebSocket in [`super::dualconfirm_ws`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_core::dualconfirm::words::Language;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthSession;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AdminSession, ApiJson, ClientInfo};
use crate::routes::openapi::BodyRejection;
use crate::services::ServiceError;
use crate::services::dualconfirm;
use crate::services::dualconfirm::hub::Words;
use crate::services::dualconfirm::pairs::{self, Invitations, PairView, SentInvitation};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pairs, create_pair))
        .routes(routes!(update_pair, remove_pair))
        .routes(routes!(name_pair))
        .routes(routes!(invite, list_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(cancel_invitation))
        .routes(routes!(accept))
        .routes(routes!(words))
        .routes(routes!(check))
}

fn language(code: Option<&str>) -> Result<Language, ApiError> {
    code.unwrap_or("en")
        .parse()
        .map_err(|_| ApiError::bad_request("invalid-language", "language must be en or fr"))
}

/// An administrator pairs an advisor with a client.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPair {
    /// Account id of the advisor (role `advisor`).
    advisor_id: String,
    /// Account id of the client (role `client`).
    client_id: String,
    /// `en` (default) or `fr`.
    language: Option<String>,
    /// The advisor's name as the client is shown it (default: the advisor's e-mail address).
    advisor_name: Option<String>,
    /// The client's name as the advisor is shown it (default: the client's e-mail address).
    client_name: Option<String>,
}

/// Pairs the caller may see: an administrator all, an advisor their clients, a client their
/// advisors.
#[utoipa::path(get, path = "/v1/dualconfirm/pairs", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 200, body = [PairView]), (status = 401, body = Problem)))]
async fn list_pairs(
    State(state): State<AppState>,
    auth: AuthSession,
) -> ApiResult<Json<Vec<PairView>>> {
    let mut out = Vec::new();
    let sides = pairs::sides_of(&state, &auth).await?;
    for p in pairs::visible_to(&state, &sides).await? {
        out.push(pairs::view(&state, &p).await?);
    }
    Ok(Json(out))
}

/// Creates a pair (administrators).
#[utoipa::path(post, path = "/v1/dualconfirm/pairs", tag = "dualconfirm", security(("bearer" = [])),
    request_body = NewPair,
    responses((status = 201, body = PairView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), BodyRejection))]
async fn create_pair(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<NewPair>,
) -> ApiResult<(StatusCode, Json<PairView>)> {
    let id = |s: &str| {
        s.parse()
            .map_err(|_| ApiError::bad_request("invalid-id", "not an account id"))
    };
    let actor = format!("admin:{}", admin.account);
    let mut record = pairs::create(
        &state,
        id(&req.advisor_id)?,
        id(&req.client_id)?,
        language(req.language.as_deref())?,
        actor.clone(),
        Some(&client),
    )
    .await?;
    if req.advisor_name.is_some() || req.client_name.is_some() {
        let names = pairs::PairNames {
            advisor: req.advisor_name,
            client: req.client_name,
        };
        record = pairs::set_names(&state, &record.id, &names, actor, Some(&client)).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(pairs::view(&state, &record).await?),
    ))
}

/// A change to a pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairUpdate {
    /// `en` or `fr`: the list both sides' words come from.
    language: String,
}

/// Either side changes the pair's word language.
#[utoipa::path(patch, path = "/v1/dualconfirm/pairs/{id}", tag = "dualconfirm", security(("bearer" = [])),
    request_body = PairUpdate,
    responses((status = 200, body = PairView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), BodyRejection))]
async fn update_pair(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PairUpdate>,
) -> ApiResult<Json<PairView>> {
    let record = pairs::set_language(&state, &auth, &id, language(Some(&req.language))?).await?;
    Ok(Json(pairs::view(&state, &record).await?))
}

/// Removes a pair: an administrator, or either of its sides.
#[utoipa::path(delete, path = "/v1/dualconfirm/pairs/{id}", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn remove_pair(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    pairs::remove_as(&state, &auth, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The names an administrator gives the sides of a pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairNamesBody {
    /// The advisor's name as the client is shown it; empty clears it (the e-mail address is
    /// shown), absent leaves it.
    advisor_name: Option<String>,
    /// The client's name as the advisor is shown it; the same rules.
    client_name: Option<String>,
}

/// Names the sides of a pair (administrators): the verified identity each side is shown of
/// the other, instead of the other's e-mail address.
#[utoipa::path(put, path = "/v1/dualconfirm/pairs/{id}/names", tag = "dualconfirm", security(("bearer" = [])),
    request_body = PairNamesBody,
    responses((status = 200, body = PairView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), BodyRejection))]
async fn name_pair(
    State(state): State<AppState>,
    AdminSession(admin): AdminSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PairNamesBody>,
) -> ApiResult<Json<PairView>> {
    let names = pairs::PairNames {
        advisor: req.advisor_name,
        client: req.client_name,
    };
    let actor = format!("admin:{}", admin.account);
    let record = pairs::set_names(&state, &id, &names, actor, Some(&client)).await?;
    Ok(Json(pairs::view(&state, &record).await?))
}

/// An advisor invites a client by e-mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    /// The client's e-mail address.
    client_email: String,
    /// `en` (default) or `fr`.
    language: Option<String>,
}

/// An advisor invites a client. The answer is the same whoever the address belongs to (a
/// client, another account, nobody): the invitation as the advisor sees it, listed until the
/// client accepts it (then the pair appears), the advisor cancels it or it expires. The
/// invited client finds it among their invitations on signing in. Each advisor has at most
/// `max_pending_invitations` pending and sends at most `invitations_per_hour`: beyond, 429
/// with `Retry-After`.
#[utoipa::path(post, path = "/v1/dualconfirm/invitations", tag = "dualconfirm", security(("bearer" = [])),
    request_body = Invitation,
    responses((status = 202, body = SentInvitation), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), BodyRejection))]
async fn invite(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    ApiJson(req): ApiJson<Invitation>,
) -> ApiResult<(StatusCode, Json<SentInvitation>)> {
    let language = language(req.language.as_deref())?;
    let sent = pairs::invite(&state, &auth, &req.client_email, language, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// The caller's pending invitations: sent (as an advisor) and received (as a client).
#[utoipa::path(get, path = "/v1/dualconfirm/invitations", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 200, body = Invitations), (status = 401, body = Problem)))]
async fn list_invitations(
    State(state): State<AppState>,
    auth: AuthSession,
) -> ApiResult<Json<Invitations>> {
    Ok(Json(pairs::invitations(&state, &auth).await?))
}

/// The invited client accepts an invitation: the pair is made.
#[utoipa::path(post, path = "/v1/dualconfirm/invitations/{id}/accept", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 200, body = PairView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn accept_invitation(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<PairView>> {
    let record = pairs::accept_invitation(&state, &auth, &id, &client).await?;
    Ok(Json(pairs::view(&state, &record).await?))
}

/// The advisor cancels a pending invitation.
#[utoipa::path(delete, path = "/v1/dualconfirm/invitations/{id}", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn cancel_invitation(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    pairs::cancel(&state, &auth, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The invited client accepts a pair in status `invited` (made before invitations were kept
/// apart from pairs).
#[utoipa::path(post, path = "/v1/dualconfirm/pairs/{id}/accept", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 200, body = PairView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn accept(
    State(state): State<AppState>,
    auth: AuthSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<PairView>> {
    let record = pairs::accept(&state, &auth, &id, &client).await?;
    Ok(Json(pairs::view(&state, &record).await?))
}

fn not_live() -> ApiError {
    ServiceError::Conflict(dualconfirm::NOT_LIVE).into()
}

/// The caller's word to say and the word to expect, while both parties are present.
#[utoipa::path(get, path = "/v1/dualconfirm/pairs/{id}/words", tag = "dualconfirm", security(("bearer" = [])),
    responses((status = 200, body = Words), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn words(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(id): Path<String>,
) -> ApiResult<Json<Words>> {
    let (pair, side) = pairs::own(&state, &auth, &id).await?;
    state
        .dualconfirm
        .words(&pair.id, &pairs::key_of(&state, &pair)?, side, state.now())
        .map(Json)
        .ok_or_else(not_live)
}

/// A word heard on the call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heard {
    /// What the other party said.
    word: String,
}

/// The verdict on a heard word.
#[derive(Serialize, ToSchema)]
pub struct Verdict {
    /// Whether it was the other party's word of this window (or of the previous one, just
    /// after a rotation).
    #[serde(rename = "match")]
    matched: bool,
    /// Checks left in this window.
    attempts_left: u32,
}

/// Checks the word the caller heard. A mismatch alerts the other party and is audited.
#[utoipa::path(post, path = "/v1/dualconfirm/pairs/{id}/check", tag = "dualconfirm", security(("bearer" = [])),
    request_body = Heard,
    responses((status = 200, body = Verdict), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem), BodyRejection))]
async fn check(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Heard>,
) -> ApiResult<Json<Verdict>> {
    if req.word.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "invalid-word",
            "a word is at most 64 characters",
        ));
    }
    let (pair, side) = pairs::own(&state, &auth, &id).await?;
    let key = pairs::key_of(&state, &pair)?;
    let r = dualconfirm::check(&state, &pair.id, &key, side, &req.word).await?;
    Ok(Json(Verdict {
        matched: r.matched,
        attempts_left: r.attempts_left,
    }))
}
