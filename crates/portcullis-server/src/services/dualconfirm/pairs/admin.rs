//! Pairs made by an administrator (from the API or the CLI): both accounts must exist, be
//! active and hold their side's role, and the pair is active at once.

use portcullis_core::dualconfirm::words::Language;
use portcullis_core::ids::AccountId;
use portcullis_store::model::{AccountRecord, AccountStatus, PairRecord, PairStatus};
use serde_json::json;

use super::records::insert;
use super::{ADVISOR_ROLE, CLIENT_ROLE};
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

fn require_role(account: &AccountRecord, role: &'static str) -> Result<(), ServiceError> {
    if account.status == AccountStatus::Active && account.roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            Invalid::NotEligible,
            match role {
                ADVISOR_ROLE => "the advisor must be an active account with the advisor role",
                _ => "the client must be an active account with the client role",
            },
        ))
    }
}

async fn account(state: &AppState, id: AccountId) -> Result<AccountRecord, ServiceError> {
    state
        .store
        .accounts
        .get(id)
        .await?
        .ok_or(ServiceError::invalid(
            Invalid::UnknownAccount,
            "no such account",
        ))
}

/// Pairs `advisor` with `client` (an administrator's act, from the API or the CLI).
///
/// # Errors
/// Accounts without the roles, an existing pair, storage failure.
#[tracing::instrument(skip_all, fields(advisor.id = %advisor, client.id = %client))]
pub async fn create(
    state: &AppState,
    advisor: AccountId,
    client: AccountId,
    language: Language,
    actor: String,
    info: Option<&ClientInfo>,
) -> Result<PairRecord, ServiceError> {
    require_role(&account(state, advisor).await?, ADVISOR_ROLE)?;
    require_role(&account(state, client).await?, CLIENT_ROLE)?;
    let record = insert(
        state,
        advisor,
        client,
        language,
        PairStatus::Active,
        actor.clone(),
    )
    .await?;
    audit::record(
        state,
        "dualconfirm.pair_created",
        Some(actor),
        Some(record.id.clone()),
        info,
        json!({"advisor": advisor.to_string(), "client": client.to_string()}),
    )
    .await?;
    Ok(record)
}
