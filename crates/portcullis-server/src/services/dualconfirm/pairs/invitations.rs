//! Pairs made by an advisor's invitation: the advisor names a client by e-mail address
//! (without learning whether one exists), and the client accepts the invitation among
//! their pairs, which makes the pair active.

use portcullis_core::dualconfirm::words::Language;
use portcullis_store::model::{AccountStatus, PairRecord, PairStatus};
use serde_json::json;

use super::queries::own;
use super::records::insert;
use super::{ADVISOR_ROLE, CLIENT_ROLE};
use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// An advisor invites the client with this e-mail address. The answer is the same whether
/// or not such a client exists (no enumeration); the client sees the invitation among their
/// pairs and accepts it.
///
/// # Errors
/// The caller is not an advisor; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account))]
pub async fn invite(
    state: &AppState,
    caller: &AuthSession,
    client_email: &str,
    language: Language,
    info: &ClientInfo,
) -> Result<(), ServiceError> {
    if !caller.has_role(ADVISOR_ROLE) {
        return Err(ServiceError::Forbidden("only advisors invite clients"));
    }
    let Ok(email) = portcullis_core::contact::Email::parse(client_email) else {
        return Err(ServiceError::invalid(
            Invalid::Email,
            "client_email is not an e-mail address",
        ));
    };
    let index = portcullis_store::pii::email_index(&state.keyring(), email.as_str());
    let found = state.store.accounts.find_by_email_index(&index).await?;
    let eligible = found
        .filter(|a| a.status == AccountStatus::Active && a.roles.iter().any(|r| r == CLIENT_ROLE));
    let mut outcome = "no_eligible_client";
    if let Some(client) = eligible {
        match insert(
            state,
            caller.account,
            client.id,
            language,
            PairStatus::Invited,
            format!("advisor:{}", caller.account),
        )
        .await
        {
            Ok(_) => outcome = "invited",
            Err(ServiceError::Conflict(_)) => outcome = "already_paired",
            Err(e) => return Err(e),
        }
    }
    audit::record(
        state,
        "dualconfirm.invitation",
        Some(caller.account.to_string()),
        None,
        Some(info),
        json!({"outcome": outcome}),
    )
    .await
}

/// The client accepts an advisor's invitation.
///
/// # Errors
/// Not the pair's client; storage failure.
#[tracing::instrument(skip_all, fields(account.id = %caller.account, pair.id = %id))]
pub async fn accept(
    state: &AppState,
    caller: &AuthSession,
    id: &str,
    info: &ClientInfo,
) -> Result<PairRecord, ServiceError> {
    let (mut pair, side) = own(state, caller, id).await?;
    if side != portcullis_core::dualconfirm::Role::Client {
        return Err(ServiceError::Forbidden("only the invited client accepts"));
    }
    if pair.status == PairStatus::Invited {
        let now = state.now();
        state
            .store
            .pairs
            .set_status(id, PairStatus::Active, now)
            .await?;
        pair.status = PairStatus::Active;
        pair.updated_at = now;
        audit::record(
            state,
            "dualconfirm.invitation_accepted",
            Some(caller.account.to_string()),
            Some(pair.id.clone()),
            Some(info),
            json!({}),
        )
        .await?;
    }
    Ok(pair)
}
