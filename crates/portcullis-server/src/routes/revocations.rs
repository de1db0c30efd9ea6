//! `GET /v1/revocations`: the feed of revoked sessions that guards poll, so a revoked
//! session is refused by every service within the polling interval.

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::DurationExt as _;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{bearer, session_of, verify_token};
use crate::services::clients;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

/// A caller allowed to read the feed: a service account whose token carries the scope
/// `portcullis:revocations` (what a guard uses: it renews that token itself with the
/// client-credentials grant), or a session with one of `introspection_roles`.
pub struct FeedCaller;

impl FromRequestParts<AppState> for FeedCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthenticated(
            "a bearer access token is required",
        ))?;
        let claims = verify_token(state, token, state.config.tokens.leeway.as_secs_i64())?;
        if clients::client_of(&claims).is_some() {
            let client = clients::active_client_of(state, &claims).await?;
            return if clients::token_allows(&claims, &client, clients::REVOCATIONS_SCOPE) {
                Ok(FeedCaller)
            } else {
                Err(ApiError::Forbidden(
                    "this client may not read the revocation feed: it lacks the portcullis:revocations scope",
                ))
            };
        }
        let (caller, _) = session_of(state, claims).await?;
        if state
            .config
            .introspection_roles
            .iter()
            .any(|r| caller.has_role(r))
        {
            Ok(FeedCaller)
        } else {
            Err(ApiError::Forbidden(
                "the revocation feed is for services and administrators",
            ))
        }
    }
}

/// Where to read from.
#[derive(Deserialize)]
pub struct FeedQuery {
    /// Unix seconds: sessions revoked at or after this instant (default: the last minute).
    since: Option<i64>,
    /// At most this many (default and maximum 1000).
    limit: Option<i64>,
}

/// One revoked session.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// The session id (the `sid` claim of its tokens).
    sid: String,
    /// Unix seconds.
    revoked_at: i64,
}

/// A page of the feed.
#[derive(Serialize, ToSchema)]
pub struct RevocationFeed {
    /// Revoked sessions, oldest first.
    revoked: Vec<Revoked>,
    /// Pass as `since` next time. Entries of that second come again; callers ignore repeats.
    next_since: i64,
}

/// Sessions revoked since a given instant. Guards poll it and refuse those sessions' tokens.
#[utoipa::path(get, path = "/v1/revocations", tag = "tokens", security(("bearer" = [])),
    params(
        ("since" = Option<i64>, Query, description = "unix seconds: sessions revoked at or after this instant (default: the last minute)"),
        ("limit" = Option<i64>, Query, description = "at most this many, 1 to 1000 (default 1000)"),
    ),
    responses((status = 200, body = RevocationFeed), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn feed(
    State(state): State<AppState>,
    _caller: FeedCaller,
    Query(q): Query<FeedQuery>,
) -> ApiResult<Json<RevocationFeed>> {
    let now = state.now();
    let since = q.since.unwrap_or(now - 60);
    let limit = q.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) || since < 0 {
        return Err(ApiError::bad_request(
            "invalid-query",
            "limit must be 1 to 1000 and since not negative",
        ));
    }
    let rows = state.store.sessions.revoked_since(since, limit).await?;
    let next_since = rows.last().map_or(since, |(_, at)| *at);
    Ok(Json(RevocationFeed {
        revoked: rows
            .into_iter()
            .map(|(sid, revoked_at)| Revoked {
                sid: sid.to_string(),
                revoked_at,
            })
            .collect(),
        next_since,
    }))
}
