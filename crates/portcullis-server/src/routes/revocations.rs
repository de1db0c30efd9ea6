//! `GET /v1/revocations`: the feed of revoked sessions that guards poll, so a revoked
//! session is refused by every service within the polling interval.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::services::revocations::{self, FeedReader};
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

/// A caller the feed's check let through: decided before the query is read, so a refused
/// caller hears 403 whatever it asked.
pub struct Reader(FeedReader);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Reader(revocations::authorize(state, &caller)?))
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
        ("since" = Option<i64>, Query, minimum = 0, description = "unix seconds: sessions revoked at or after this instant (default: the last minute)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "at most this many, 1 to 1000 (default 1000)"),
    ),
    responses((status = 200, body = RevocationFeed), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn feed(
    State(state): State<AppState>,
    Reader(reader): Reader,
    ApiQuery(q): ApiQuery<FeedQuery>,
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
    let page = revocations::feed(&state, &reader, since, limit).await?;
    Ok(Json(RevocationFeed {
        revoked: page
            .revoked
            .into_iter()
            .map(|(sid, revoked_at)| Revoked {
                sid: sid.to_string(),
                revoked_at,
            })
            .collect(),
        next_since: page.next_since,
    }))
}
