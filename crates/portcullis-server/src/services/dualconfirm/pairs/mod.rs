//! Who verifies whom: pairs of an advisor and a client, made by an administrator (API, CLI)
//! or by an advisor's invitation that the client accepts. An advisor sees only their clients
//! and a client only their advisors.
//!
//! The record and its sealed secret are in `records`, the administrator's pairing in
//! `admin`, invitations in `invitations`, the sides a caller may take now in `sides` and a
//! caller's own pairs in `queries`; all
//! their items are re-exported here, so callers name them `pairs::…`.

mod admin;
mod invitations;
mod queries;
mod records;
mod sides;

pub use admin::{PairNames, create, set_names};
pub use invitations::{
    Invitations, ReceivedInvitation, SentInvitation, accept, accept_invitation, cancel, invite,
    list as invitations,
};
pub use queries::{own, remove, remove_as, set_language, visible_to};
pub use records::{PairView, PartyView, key_of, open_secret, view};
pub use sides::{Sides, sides_of};

/// Role an account needs to be the advisor of a pair.
pub const ADVISOR_ROLE: &str = "advisor";
/// Role an account needs to be the client of a pair.
pub const CLIENT_ROLE: &str = "client";
