//! DualConfirm invitations (an advisor names a client by e-mail address; the client accepts),
//! and where the parties of a pair stand, as the store reads them.

use portcullis_core::ids::AccountId;
use std::fmt;
use std::str::FromStr;

use super::AccountStatus;

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Sent; not accepted, cancelled or expired yet.
    Pending,
    /// The invited client accepted it: the pair exists.
    Accepted,
    /// The advisor withdrew it.
    Cancelled,
}

impl InvitationStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Cancelled => "cancelled",
        }
    }
}

impl FromStr for InvitationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(InvitationStatus::Pending),
            "accepted" => Ok(InvitationStatus::Accepted),
            "cancelled" => Ok(InvitationStatus::Cancelled),
            other => Err(format!("unknown invitation status {other:?}")),
        }
    }
}

/// An advisor's invitation of whoever holds an e-mail address. Stored alike for every
/// address, so that nothing about it tells the advisor whether the address is a client's.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Id.
    pub id: String,
    /// The inviting advisor.
    pub advisor: AccountId,
    /// Blind index of the invited address (the invited client's account has the same).
    pub email_index: Vec<u8>,
    /// The invited address, sealed with the keyring (associated data: the invitation id).
    pub email_sealed: Vec<u8>,
    /// Word-list language of the pair it makes.
    pub language: String,
    /// Status.
    pub status: InvitationStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which it can no longer be accepted.
    pub expires_at: i64,
}

impl fmt::Debug for InvitationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvitationRecord")
            .field("id", &self.id)
            .field("advisor", &self.advisor)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// One account of a pair, as far as its side goes: its status and roles now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyStanding {
    /// The account's status.
    pub status: AccountStatus,
    /// The account's roles.
    pub roles: Vec<String>,
}

impl PartyStanding {
    /// Whether the account is active and holds `role`.
    pub fn holds(&self, role: &str) -> bool {
        self.status == AccountStatus::Active && self.roles.iter().any(|r| r == role)
    }
}

/// Where the two accounts of a pair stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairStanding {
    /// The pair.
    pub id: String,
    /// Its advisor's account.
    pub advisor: PartyStanding,
    /// Its client's account.
    pub client: PartyStanding,
}
