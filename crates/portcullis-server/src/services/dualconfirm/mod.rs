//! DualConfirm: pairs (who verifies whom), the hub of live sessions and words, and the
//! workers around it: the audit worker that writes what the hub noted, the ticker that
//! drives rotations, and the watch that ends the sessions of pairs removed elsewhere.

pub mod hub;
pub mod pairs;
pub mod relay;

use portcullis_core::dualconfirm::Role;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::config::DurationExt as _;
use crate::services::audit;
use crate::state::AppState;
use hub::{CheckRefusal, CheckResult, PairKey};

/// `role` heard `heard` on a call with the other party of `pair`: the hub's check, with the
/// attempts of the window counted in Redis when it is configured, so a party whose requests
/// land on several nodes still has `max_checks_per_window` attempts in all. If Redis fails,
/// this node counts alone.
///
/// # Errors
/// [`CheckRefusal`].
pub async fn check(
    state: &AppState,
    pair: &str,
    key: &PairKey,
    role: Role,
    heard: &str,
) -> Result<CheckResult, CheckRefusal> {
    let hub = &state.dualconfirm;
    if !hub.is_live(pair) {
        return Err(CheckRefusal::NotLive);
    }
    let now = state.now();
    let counted = match &state.cluster.redis {
        Some(redis) => {
            let window = hub.window_at(now);
            let window_secs = state.config.dualconfirm.window.as_secs_i64();
            hub::limiter::shared_count(redis, pair, role, window, window_secs).await
        }
        None => None,
    };
    hub.check(pair, key, role, heard, now, counted)
}

/// Writes the hub's notes to the audit log, in order, until the hub is dropped.
pub async fn run_audit_worker(state: AppState, mut notes: mpsc::UnboundedReceiver<hub::AuditNote>) {
    while let Some(note) = notes.recv().await {
        if let Err(e) = audit::record(
            &state,
            note.event,
            None,
            note.pair.clone(),
            None,
            note.detail,
        )
        .await
        {
            tracing::warn!(error = %e, event = note.event, "a DualConfirm audit record was not written");
        }
    }
}

/// Drives rotations and inactivity until aborted: ticks the hub at each window boundary
/// (a few milliseconds after it, so the clock's second has turned) and at least every
/// 500 ms for inactivity.
pub async fn run_ticker(state: AppState) {
    loop {
        let wait = state
            .dualconfirm
            .millis_to_rotation(state.clock.now_millis())
            .min(500);
        tokio::time::sleep(Duration::from_millis(wait + 2)).await;
        let delivered = state.dualconfirm.tick(state.now());
        if delivered > 0 {
            metrics::counter!("portcullis_dualconfirm_words_delivered_total")
                .increment(delivered as u64);
        }
    }
}

/// How often a node checks that the pairs of its consoles still exist.
const PAIR_WATCH: Duration = Duration::from_secs(1);

/// Ends, until aborted, the live sessions of pairs removed by another process: the CLI
/// (`portcullis dualconfirm pair remove`) or, without Redis to tell it, another node. Every
/// [`PAIR_WATCH`] the pairs with a console here are looked up in one batch.
pub async fn run_pair_watch(state: AppState) {
    loop {
        tokio::time::sleep(PAIR_WATCH).await;
        if let Err(e) = end_removed_pairs(&state).await {
            tracing::warn!(error = %e, "DualConfirm pairs were not checked; the next round retries");
        }
    }
}

/// Forgets (as a removal does) every pair with a console here that the store no longer
/// holds; how many.
///
/// # Errors
/// Storage failure.
pub async fn end_removed_pairs(state: &AppState) -> Result<usize, portcullis_store::StoreError> {
    let served = state.dualconfirm.served_pairs();
    if served.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = served.iter().map(|p| &**p).collect();
    let existing: HashSet<String> = state
        .store
        .pairs
        .existing(&ids)
        .await?
        .into_iter()
        .collect();
    let mut ended = 0;
    for pair in ids.iter().filter(|p| !existing.contains(**p)) {
        state.dualconfirm.forget_pair(pair);
        ended += 1;
    }
    Ok(ended)
}
