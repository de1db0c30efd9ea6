//! [`InvitationRepo`]: DualConfirm invitations.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;

use crate::error::StoreError;
use crate::model::{InvitationRecord, InvitationStatus};

/// The bounds on one advisor's invitations, checked in the statement that inserts one (so
/// concurrent requests of one advisor cannot all pass a count made before any of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvitationBounds {
    /// Pending invitations (unexpired) an advisor may have.
    pub max_pending: u32,
    /// Invitations an advisor may send since `since`.
    pub max_recent: u32,
    /// Start of the rate's period (unix seconds).
    pub since: i64,
}

/// What counts against an advisor's bounds, and when each frees a place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvitationCounts {
    /// Pending unexpired invitations.
    pub pending: u32,
    /// The earliest expiry among them (unix seconds).
    pub first_expiry: Option<i64>,
    /// Invitations sent since the period's start.
    pub recent: u32,
    /// The earliest of those (unix seconds).
    pub first_recent: Option<i64>,
}

/// DualConfirm invitations.
#[async_trait]
pub trait InvitationRepo: Send + Sync {
    /// Inserts `invitation` if its advisor is within `bounds` at `now`; returns whether it
    /// was inserted. Rows of the advisor that are no longer pending (or expired) and older
    /// than the period go first.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists.
    async fn create(
        &self,
        invitation: &InvitationRecord,
        bounds: InvitationBounds,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// What counts against `advisor`'s bounds at `now`, the rate counted from `since`.
    async fn counts(
        &self,
        advisor: AccountId,
        since: i64,
        now: i64,
    ) -> Result<InvitationCounts, StoreError>;
    /// Reads one invitation.
    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>, StoreError>;
    /// An advisor's pending unexpired invitations, oldest first.
    async fn pending_of(
        &self,
        advisor: AccountId,
        now: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError>;
    /// The pending unexpired invitations of the address with blind index `email_index`,
    /// oldest first.
    async fn pending_for(
        &self,
        email_index: &[u8],
        now: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError>;
    /// Moves a pending invitation to `status`; returns whether it was pending (only one of
    /// two concurrent accepts, or an accept and a cancel, wins).
    async fn close(&self, id: &str, status: InvitationStatus) -> Result<bool, StoreError>;
}
