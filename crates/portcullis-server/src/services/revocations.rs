//! The feed of revoked sessions that guards poll, so a session revoked here is refused by
//! every service within their polling interval.

use portcullis_core::ids::SessionId;

use crate::auth::{AuthCheck, Caller};
use crate::services::ServiceError;
use crate::services::clients::REVOCATIONS_SCOPE;
use crate::state::AppState;

/// A page of the feed: revoked sessions, oldest first, and where the next page starts.
#[derive(Debug)]
pub struct FeedPage {
    /// `(session, unix seconds revoked)`, oldest first.
    pub revoked: Vec<(SessionId, i64)>,
    /// Pass as `since` next time. Entries of that second come again; callers ignore repeats.
    pub next_since: i64,
}

/// Proof that a caller may read the feed; only [`authorize`] makes one, so [`feed`] cannot be
/// reached without the check.
#[derive(Debug)]
pub struct FeedReader(());

/// Whether `caller` may read the feed: a service account allowed `portcullis:revocations`
/// (what a guard uses), or a session with one of `introspection_roles`.
///
/// # Errors
/// [`ServiceError::Forbidden`] for any other caller.
pub fn authorize(state: &AppState, caller: &Caller) -> Result<FeedReader, ServiceError> {
    AuthCheck::new("the revocation feed is for services and administrators")
        .session_with_configured_role(&state.config.introspection_roles)
        .client_with_scope(
            REVOCATIONS_SCOPE,
            "this client may not read the revocation feed: it lacks the portcullis:revocations scope",
        )
        .allows(caller)?;
    Ok(FeedReader(()))
}

/// Sessions revoked at or after `since`, at most `limit`, for an authorized reader.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(since, limit))]
pub async fn feed(
    state: &AppState,
    _reader: &FeedReader,
    since: i64,
    limit: i64,
) -> Result<FeedPage, ServiceError> {
    let revoked = state.store.sessions.revoked_since(since, limit).await?;
    let next_since = revoked.last().map_or(since, |(_, at)| *at);
    Ok(FeedPage {
        revoked,
        next_since,
    })
}
