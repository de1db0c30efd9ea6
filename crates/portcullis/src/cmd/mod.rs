//! Subcommands that work offline on the data directory's database and keys.

pub mod apikey;
pub mod audit;
pub mod client;
pub mod dualconfirm;
pub mod keys;
pub mod ledger;
pub mod user;
pub mod webhook;
