//! Portcullis store: persistence behind role-sized repository traits.
//!
//! Two backends implement every trait: SQLite (the embedded default) and PostgreSQL. They share
//! one body of SQL (one file per repository under `sql/`), written in the dialect both accept,
//! and keep separate migration folders. The keyring (envelope encryption of personal data and secrets) lives here
//! too, because what it protects is what this crate writes.
//!
//! Every public item is documented (`missing_docs` warns, and CI denies warnings): the server
//! and the CLI build on this API, and a repository method's doc is where its guarantee (what
//! is atomic, what is single-use, what a `bool` result means) is written down.
#![warn(missing_docs)]

pub mod error;
pub mod keyring;
pub mod model;
pub mod pii;
pub mod repo;
mod sql;
mod store;

pub use error::StoreError;
pub use repo::{Store, open};
