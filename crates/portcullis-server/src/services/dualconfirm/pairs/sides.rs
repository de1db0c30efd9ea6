//! Which sides of DualConfirm pairs a caller may take *now*: a side's role must be in the
//! caller's token and still held by the account, which must still be active. An
//! administrator who removes an account's `advisor` or `client` role (or disables it) thereby
//! ends what the account's tokens minted before could do in DualConfirm: they list, read and
//! check nothing of the pairs on that side, and its consoles are closed (see
//! `end_withdrawn_pairs`).

use portcullis_core::dualconfirm::Role;
use portcullis_core::ids::AccountId;
use portcullis_store::model::{AccountStatus, PairRecord, PairStatus};

use super::{ADVISOR_ROLE, CLIENT_ROLE};
use crate::auth::{ADMIN_ROLE, AuthSession};
use crate::services::error::ServiceError;
use crate::state::AppState;

/// The sides a caller may take, read once per request.
#[derive(Debug, Clone)]
pub struct Sides {
    /// The caller's account.
    pub account: AccountId,
    /// Whether the caller is an administrator (by its token, as everywhere else).
    pub admin: bool,
    /// May be the advisor of its pairs.
    pub advisor: bool,
    /// May be the client of its pairs.
    pub client: bool,
    /// The blind index of the account's e-mail address (how invitations find a client).
    pub email_index: Option<Vec<u8>>,
}

impl Sides {
    /// Which side of `pair` the caller is on, if any. An advisor does not see a pair that
    /// its client has not accepted yet (pairs invited before invitations were kept apart):
    /// nothing tells an advisor whom an address belongs to until the client accepts.
    pub fn side_of(&self, pair: &PairRecord) -> Option<Role> {
        if pair.advisor == self.account && self.advisor && pair.status == PairStatus::Active {
            Some(Role::Advisor)
        } else if pair.client == self.account && self.client {
            Some(Role::Client)
        } else {
            None
        }
    }
}

/// The sides `caller` may take now (see the module documentation).
///
/// # Errors
/// Storage failure.
pub async fn sides_of(state: &AppState, caller: &AuthSession) -> Result<Sides, ServiceError> {
    let account = state.store.accounts.get(caller.account).await?;
    let (roles, email_index) = match account {
        Some(a) if a.status == AccountStatus::Active => (a.roles, a.email_index),
        _ => (Vec::new(), None),
    };
    let holds = |role: &str| caller.has_role(role) && roles.iter().any(|r| r == role);
    Ok(Sides {
        account: caller.account,
        admin: caller.has_role(ADMIN_ROLE),
        advisor: holds(ADVISOR_ROLE),
        client: holds(CLIENT_ROLE),
        email_index,
    })
}
