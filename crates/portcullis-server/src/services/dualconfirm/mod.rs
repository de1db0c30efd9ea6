//! DualConfirm: pairs (who verifies whom), the hub of live sessions and words, and the audit
//! worker that writes what the hub noted.

pub mod hub;
pub mod pairs;

use std::time::Duration;
use tokio::sync::mpsc;

use crate::services::audit;
use crate::state::AppState;

/// Writes the hub's notes to the audit log, in order, until the hub is dropped.
pub async fn run_audit_worker(state: AppState, mut notes: mpsc::UnboundedReceiver<hub::AuditNote>) {
    while let Some(note) = notes.recv().await {
        if let Err(e) = audit::record(
            &state,
            note.event,
            None,
            Some(note.pair.clone()),
            None,
            note.detail,
        )
        .await
        {
            tracing::warn!(error = %e, event = note.event, "a DualConfirm audit record was not written");
        }
    }
}

/// Drives rotations and inactivity: ticks the hub every 100 ms until aborted.
pub async fn run_ticker(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let delivered = state.dualconfirm.tick(state.now());
        if delivered > 0 {
            metrics::counter!("portcullis_dualconfirm_words_delivered_total")
                .increment(delivered as u64);
        }
    }
}
