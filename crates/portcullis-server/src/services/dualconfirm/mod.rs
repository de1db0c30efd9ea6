//! DualConfirm: pairs (who verifies whom), the hub of live sessions and words, and the audit
//! worker that writes what the hub noted.

pub mod hub;
pub mod pairs;
pub mod relay;

use portcullis_core::dualconfirm::Role;
use std::time::Duration;
use tokio::sync::mpsc;

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
            let name = format!("dc:checks:{pair}:{}:{window}", role.as_str());
            let ttl = state.config.dualconfirm.window.as_secs().max(1) * 2;
            match redis.count(&name, ttl).await {
                Ok(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => {
                    tracing::warn!(error = %e, "DualConfirm checks counted on this node alone");
                    None
                }
            }
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
