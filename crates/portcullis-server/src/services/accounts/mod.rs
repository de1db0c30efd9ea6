//! Accounts: registration, e-mail verification, profile, deletion, export, password changes.
//!
//! Registration and verification are in `registration`, the sealed personal data (data
//! keys, profile) in `profile`, deletion and export in `deletion`; their items are
//! re-exported here, so callers name them `accounts::…`. Password changes and resets are
//! in [`crate::services::credentials`].

mod admin;
mod deletion;
mod profile;
mod registration;

pub use admin::{create_active, disable, enable, set_roles};
pub(crate) use deletion::check_password;
pub use deletion::{delete, export, session_json};
pub(crate) use profile::mark_verified;
pub use profile::{
    Profile, ProfileUpdate, data_key, live_account, profile, seal_account, update_profile,
};
pub(crate) use registration::{RESET, RESET_TTL, send_link};
pub use registration::{Registered, Registration, register, verify_email};
