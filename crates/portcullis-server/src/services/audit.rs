//! Appending security events to the audit ledger.

use portcullis_core::audit::AuditEvent;
use serde_json::Value;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::state::AppState;

/// Appends one event. Ids and event names only: never secrets or personal data.
///
/// # Errors
/// The store failed; the caller's operation fails with it so no event goes unrecorded.
#[tracing::instrument(skip_all, fields(event = %event))]
pub async fn record(
    state: &AppState,
    event: &str,
    actor: Option<String>,
    subject: Option<String>,
    client: Option<&ClientInfo>,
    detail: Value,
) -> Result<(), ServiceError> {
    let event = AuditEvent {
        event: event.to_owned(),
        actor,
        subject,
        ip: client.and_then(|c| c.ip.map(|ip| ip.to_string())),
        detail: if detail.is_null() {
            serde_json::json!({})
        } else {
            detail
        },
    };
    state.ledgers.audit.append(state.now(), event).await?;
    Ok(())
}
