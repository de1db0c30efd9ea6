//! Who verifies whom: pairs of an advisor and a client, made by an administrator (API, CLI)
//! or by an advisor's invitation that the client accepts. An advisor sees only their clients
//! and a client only their advisors.
//!
//! The record and its sealed secret are in `records`, the administrator's pairing in
//! `admin`, invitations in `invitations` and a caller's own pairs in `queries`; all
//! their items are re-exported here, so callers name them `pairs::…`.

mod admin;
mod invitations;
mod queries;
mod records;

pub use admin::create;
pub use invitations::{accept, invite};
pub use queries::{own, remove, remove_as, set_language, side_of, visible_to};
pub use records::{PairView, PartyView, key_of, open_secret, view};

/// Role an account needs to be the advisor of a pair.
pub const ADVISOR_ROLE: &str = "advisor";
/// Role an account needs to be the client of a pair.
pub const CLIENT_ROLE: &str = "client";
