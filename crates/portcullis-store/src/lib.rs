//! Portcullis store: persistence behind role-sized repository traits.
//!
//! Two backends implement every trait: SQLite (the embedded default) and PostgreSQL. They share
//! one body of SQL (see [`sql`]), written in the dialect both accept, and keep separate
//! migration folders. The keyring (envelope encryption of personal data and secrets) lives here
//! too, because what it protects is what this crate writes.

pub mod error;
pub mod keyring;
pub mod model;
pub mod pii;
pub mod repo;
mod sql;

pub use error::StoreError;
pub use repo::{Store, open};
