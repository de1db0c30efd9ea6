//! Orchestration with I/O: each service takes the state, calls core rules and the store, and
//! records audit events. Handlers call these and only translate HTTP.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod clients;
pub mod cooldown;
pub mod credentials;
pub mod custody;
pub mod dualconfirm;
pub mod error;
pub mod factors;
pub mod forward_auth;
pub mod introspection;
pub mod ledgers;
pub mod login;
pub mod mail;
pub mod otp;
pub mod passkeys;
pub mod passwords;
pub mod revocations;
pub mod sessions;
pub mod wallet_sessions;
pub mod webhooks;

pub use error::{ServiceError, ServiceResult};
