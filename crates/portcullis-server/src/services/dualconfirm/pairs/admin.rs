//! Pairs made by an administrator (from the API or the CLI): both accounts must exist, be
//! active and hold their side's role, and the pair is active at once. An administrator may
//! also name each side of a pair: the identity the other side is shown (sealed like the
//! pair's secret), instead of the account's e-mail address.

use portcullis_core::contact::DisplayName;
use portcullis_core::dualconfirm::Role;
use portcullis_core::dualconfirm::words::Language;
use portcullis_core::ids::AccountId;
use portcullis_store::model::{AccountRecord, AccountStatus, PairRecord, PairStatus};
use serde_json::json;

use super::records::{insert, seal_name};
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

/// The names an administrator gives the sides of a pair: what each side is shown of the
/// other, instead of its e-mail address. `None` leaves a side's name as it is; an empty name
/// clears it.
#[derive(Debug, Default, Clone)]
pub struct PairNames {
    /// The advisor's name, as the client sees it.
    pub advisor: Option<String>,
    /// The client's name, as the advisor sees it.
    pub client: Option<String>,
}

/// What a side's sealed name becomes: kept, cleared (empty) or a new valid name.
fn sealed_name(
    state: &AppState,
    pair: &PairRecord,
    role: Role,
    new: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    let current = match role {
        Role::Advisor => &pair.advisor_name_sealed,
        Role::Client => &pair.client_name_sealed,
    };
    match new.map(str::trim) {
        None => Ok(current.clone()),
        Some("") => Ok(None),
        Some(name) => {
            let name = DisplayName::parse(name).map_err(|_| {
                ServiceError::invalid(
                    Invalid::DisplayName,
                    "a pair name is 1 to 100 characters, without control characters",
                )
            })?;
            Ok(Some(seal_name(state, &pair.id, role, name.as_str())?))
        }
    }
}

/// Sets the names an administrator gives the sides of pair `id` (an administrator's act,
/// from the API or the CLI).
///
/// # Errors
/// Unknown pair; a name out of bounds; storage failure.
#[tracing::instrument(skip_all, fields(pair.id = %id))]
pub async fn set_names(
    state: &AppState,
    id: &str,
    names: &PairNames,
    actor: String,
    info: Option<&ClientInfo>,
) -> Result<PairRecord, ServiceError> {
    let mut pair = state
        .store
        .pairs
        .get(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let advisor = sealed_name(state, &pair, Role::Advisor, names.advisor.as_deref())?;
    let client = sealed_name(state, &pair, Role::Client, names.client.as_deref())?;
    let now = state.now();
    let found = state
        .store
        .pairs
        .set_names(id, advisor.as_deref(), client.as_deref(), now)
        .await?;
    if !found {
        return Err(ServiceError::NotFound);
    }
    (pair.advisor_name_sealed, pair.client_name_sealed) = (advisor, client);
    pair.updated_at = now;
    audit::record(
        state,
        "dualconfirm.pair_names_set",
        Some(actor),
        Some(id.to_owned()),
        info,
        json!({"advisor": names.advisor.is_some(), "client": names.client.is_some()}),
    )
    .await?;
    Ok(pair)
}
