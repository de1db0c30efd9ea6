//! DualConfirm: pairs (who verifies whom), the hub of live sessions and words, and the
//! workers around it: the audit worker that writes what the hub noted, the ticker that
//! drives rotations, and the watch that ends the sessions of pairs removed elsewhere, or
//! whose accounts no longer hold their side (a role removed, an account disabled).

pub mod hub;
pub mod pairs;
pub mod relay;

use portcullis_core::dualconfirm::Role;
use portcullis_store::model::PairStanding;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::services::{ServiceError, audit};
use crate::state::AppState;
use hub::{CheckRefusal, CheckResult, PairKey};

/// Why a check had no live session to be made in.
pub const NOT_LIVE: &str =
    "no live DualConfirm session: both parties must have their console open and be active";

/// `role` heard `heard` on a call with the other party of `pair`: the hub's check, counted
/// first in the store, where every node shares one count per side and window and a console
/// that reconnects finds it as it was, so a party has `max_checks_per_window` attempts in all.
///
/// The check (and a mismatch's alert) is in the audit log before the verdict is returned,
/// not handed to the audit worker: a verdict the caller received is never missing from the
/// log, even when the process dies right after answering.
///
/// # Errors
/// [`ServiceError::Conflict`] ([`NOT_LIVE`]) without a live session,
/// [`ServiceError::RateLimited`] when this side's checks of the window are used up, or the
/// store's or the audit log's failure.
pub async fn check(
    state: &AppState,
    pair: &str,
    key: &PairKey,
    role: Role,
    heard: &str,
) -> Result<CheckResult, ServiceError> {
    let hub = &state.dualconfirm;
    if !hub.is_live(pair) {
        return Err(ServiceError::Conflict(NOT_LIVE));
    }
    let now = state.now();
    let attempts_left = hub
        .limiter()
        .admit(state.store.word_checks.as_ref(), pair, role, now)
        .await?
        .map_err(|e| ServiceError::RateLimited {
            retry_after: e.retry_after,
        })?;
    let result = hub
        .check(pair, key, role, heard, now, attempts_left)
        .map_err(|refusal| match refusal {
            CheckRefusal::NotLive => ServiceError::Conflict(NOT_LIVE),
            CheckRefusal::TooManyAttempts { retry_after } => {
                ServiceError::RateLimited { retry_after }
            }
        })?;
    let (by, window) = (role.as_str(), hub.window_at(now));
    let record = async |event, detail| {
        audit::record(state, event, None, Some(pair.to_owned()), None, detail).await
    };
    let detail = json!({"by": by, "matched": result.matched, "window": window});
    record("dualconfirm.check", detail).await?;
    if !result.matched {
        let detail = json!({"by": by, "reason": "mismatch", "window": window});
        record("dualconfirm.alert", detail).await?;
    }
    Ok(result)
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

/// Ends, until aborted, the live sessions of pairs removed by another process (the CLI's
/// `portcullis dualconfirm pair remove` or, without Redis to tell it, another node) and of
/// pairs a side of which no longer qualifies (`portcullis user roles` took the role, or the
/// account was disabled). Every [`PAIR_WATCH`] the pairs with a console here are looked up
/// in one batch; see [`end_withdrawn_pairs`].
pub async fn run_pair_watch(state: AppState) {
    loop {
        let window = state.dualconfirm.window_millis();
        let to_boundary = state
            .dualconfirm
            .millis_to_rotation(state.clock.now_millis());
        tokio::time::sleep(watch_delay(window, to_boundary)).await;
        if let Err(e) = end_withdrawn_pairs(&state).await {
            tracing::warn!(error = %e, "DualConfirm pairs were not checked; the next round retries");
        }
    }
}

/// How far from a window boundary the watch keeps its query: at the boundary every live
/// session's words go out at once, and the look-up of thousands of pairs would compete with
/// that delivery for the CPU.
const QUIET_MS: u64 = 300;

/// How long the watch sleeps: about [`PAIR_WATCH`], moved on so that it wakes at least
/// [`QUIET_MS`] from either boundary of its window (`window_ms` long, the next boundary
/// `to_boundary_ms` away).
fn watch_delay(window_ms: u64, to_boundary_ms: u64) -> Duration {
    let base = u64::try_from(PAIR_WATCH.as_millis()).unwrap_or(1000);
    let window_ms = window_ms.max(1);
    let since_boundary = window_ms.saturating_sub(to_boundary_ms);
    // Where in its window the watch would wake.
    let at = (since_boundary + base) % window_ms;
    let extra = if window_ms <= 2 * QUIET_MS {
        0
    } else if at < QUIET_MS {
        QUIET_MS - at
    } else if window_ms - at < QUIET_MS {
        window_ms - at + QUIET_MS
    } else {
        0
    };
    Duration::from_millis(base + extra)
}

/// The sides of a pair whose accounts no longer qualify: inactive, or without the side's
/// role.
pub fn withdrawn_sides(standing: &PairStanding) -> Vec<Role> {
    let mut sides = Vec::new();
    if !standing.advisor.holds(pairs::ADVISOR_ROLE) {
        sides.push(Role::Advisor);
    }
    if !standing.client.holds(pairs::CLIENT_ROLE) {
        sides.push(Role::Client);
    }
    sides
}

/// Ends the sessions of the pairs with a console here that the store no longer holds (as a
/// removal does, told to every node) or a side of which no longer qualifies: that side's
/// consoles here are closed and the other side's told the pair changed, on this node only
/// (every node looks for its own consoles). How many pairs ended.
///
/// # Errors
/// Storage failure.
pub async fn end_withdrawn_pairs(state: &AppState) -> Result<usize, portcullis_store::StoreError> {
    let served = state.dualconfirm.served_pairs();
    if served.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = served.iter().map(|p| &**p).collect();
    let standing: HashMap<String, PairStanding> = state
        .store
        .pairs
        .standing(&ids)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut ended = 0;
    for pair in ids {
        match standing.get(pair) {
            None => state.dualconfirm.forget_pair(pair),
            Some(s) => {
                let sides = withdrawn_sides(s);
                if sides.is_empty() {
                    continue;
                }
                state.dualconfirm.withdraw(pair, &sides);
            }
        }
        ended += 1;
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_watch_keeps_off_window_boundaries() {
        // A 2 s window; the watch lands `(since + 1000) % 2000` into its window.
        #[rustfmt::skip]
        let table = [
            // (to the next boundary, expected sleep)
            (1500, 1000), // wakes 1500 ms in: clear of both boundaries
            (1000, 1300), // would wake on a boundary: 300 ms later
            (1100, 1400), // would wake 100 ms before one: past it, plus 300
            (900,  1200), // would wake 100 ms after one: 200 ms more
        ];
        for (to_boundary, sleep) in table {
            assert_eq!(
                watch_delay(2000, to_boundary),
                Duration::from_millis(sleep),
                "{to_boundary}"
            );
        }
        // A window too short for quiet margins: the watch keeps its pace.
        assert_eq!(watch_delay(500, 100), Duration::from_millis(1000));
    }
}
