//! DualConfirm: pairs (who verifies whom), the hub of live sessions and words, and the audit
//! worker that writes what the hub noted.

pub mod hub;
pub mod pairs;
pub mod relay;

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
