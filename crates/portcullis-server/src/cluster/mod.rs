//! What nodes sharing one database must agree on beyond the database itself.
//!
//! The database is the record: a revoked session has `revoked_at` set, whichever node (or
//! the CLI) revoked it, and every request that reads the session sees it. What can drift is
//! what a node caches — verified tokens on the forward-auth path — so each node keeps the
//! set of recently revoked sessions current from the database: at once after its own
//! revocations, at once when another node announces one on Redis, and by polling every
//! `cluster.revocation_poll_ms` otherwise (the PostgreSQL-only set-up, or a missed
//! announcement). Rate limits are counted in Redis when it is configured.

pub mod redis_link;
pub mod revoked;

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

use crate::state::AppState;
use redis_link::RedisLink;
use revoked::RevokedSessions;

/// Revocations read before this far behind the newest one seen are read again: a
/// revocation written by another node can commit a little after a later one.
const OVERLAP_SECS: i64 = 2;

/// How long revoked sessions are remembered: longer than any verified token is cached.
pub const REVOKED_HORIZON_SECS: i64 = 300;

/// Rows read per query while catching up.
const PAGE: i64 = 5_000;

/// This node's view of the others.
pub struct Cluster {
    /// Sessions known to be revoked recently.
    pub revoked: RevokedSessions,
    /// Redis, when configured.
    pub redis: Option<Arc<RedisLink>>,
    /// Newest revocation time read so far (unix seconds); one reader at a time.
    cursor: Mutex<i64>,
    /// Wakes the follower before its next poll.
    wake: Notify,
}

impl Cluster {
    /// A view that starts reading revocations from `now - REVOKED_HORIZON_SECS`.
    pub fn new(redis: Option<Arc<RedisLink>>, now: i64) -> Self {
        Self {
            revoked: RevokedSessions::new(REVOKED_HORIZON_SECS),
            redis,
            cursor: Mutex::new(now - REVOKED_HORIZON_SECS),
            wake: Notify::new(),
        }
    }
}

/// Reads the revocations written since the last read (by any node) into the set.
///
/// # Errors
/// Storage failure; the set is left as it was and the next call retries.
pub async fn sync_revocations(state: &AppState) -> Result<usize, portcullis_store::StoreError> {
    let mut cursor = state.cluster.cursor.lock().await;
    let mut since = *cursor - OVERLAP_SECS;
    let mut learned = 0;
    loop {
        let rows = state.store.sessions.revoked_since(since, PAGE).await?;
        learned += state.cluster.revoked.learn(&rows);
        let newest = rows.last().map_or(since, |(_, at)| *at);
        *cursor = (*cursor).max(newest);
        if (rows.len() as i64) < PAGE {
            break;
        }
        // A full page: go on after it (past its second if the page never left it).
        since = if newest > since { newest } else { since + 1 };
    }
    if learned > 0 {
        metrics::counter!("portcullis_revocations_learned_total").increment(learned as u64);
    }
    Ok(learned)
}

/// Called after this node revoked sessions: this node's caches learn it before the request
/// that revoked returns, and the other nodes are told through Redis when it is configured
/// (they poll otherwise). Failures are logged, not returned: the revocation itself is
/// already recorded and the polling catches up.
pub async fn revocations_changed(state: &AppState) {
    if let Err(e) = sync_revocations(state).await {
        tracing::warn!(error = %e, "reading revocations back failed; the next poll retries");
    }
    if let Some(redis) = &state.cluster.redis
        && let Err(e) = redis.announce_revocation().await
    {
        metrics::counter!("portcullis_redis_failures_total", "op" => "announce").increment(1);
        tracing::warn!(error = %e, "announcing a revocation failed; other nodes learn it by polling");
    }
}

/// Keeps the revoked set current until aborted: polls, and wakes early on announcements.
pub async fn follow_revocations(state: AppState) {
    let poll = state.config.cluster.revocation_poll;
    let mut since_prune = Duration::ZERO;
    loop {
        tokio::select! {
            () = tokio::time::sleep(poll) => since_prune += poll,
            () = state.cluster.wake.notified() => {}
        }
        if let Err(e) = sync_revocations(&state).await {
            tracing::warn!(error = %e, "reading revocations failed");
        }
        if since_prune >= Duration::from_secs(30) {
            state.cluster.revoked.prune(state.now());
            since_prune = Duration::ZERO;
        }
    }
}

/// Wakes the follower whenever any node announces a revocation, until aborted.
pub async fn follow_announcements(state: AppState) {
    let Some(redis) = state.cluster.redis.clone() else {
        return;
    };
    redis
        .follow_announcements(|| state.cluster.wake.notify_one())
        .await;
}
