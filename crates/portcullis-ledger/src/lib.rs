//! Verifiable append-only ledgers.
//!
//! A ledger is an RFC 6962 / RFC 9162 Merkle tree over its entries. Its head is published as a
//! C2SP `tlog-checkpoint` signed with the ledger's own Ed25519 key in C2SP `signed-note` form,
//! so anyone holding the public key can check, with tools that are not ours, that an entry is
//! in the ledger (an inclusion proof) and that the ledger only ever grew (a consistency proof).
//!
//! - [`merkle`]: the tree's hashing, its right edge ([`merkle::Frontier`]) and the proofs,
//!   pure and storage-agnostic: proofs are planned as the perfect subtrees they need, which
//!   storage fetches in one read.
//! - [`note`] and [`checkpoint`]: the signed tree head; [`keys`]: each ledger's key file.
//! - [`lifecycle`] and [`entry`]: the rules of a token's life and what a leaf holds, pure.
//! - [`Ledger`]: an open ledger (storage, writer, reads and proofs); [`TokenLedger`] and
//!   [`AuditLedger`] are the two kinds. Appends go through one writer per ledger that commits
//!   in groups ([`writer`]).
//! - [`verify`]: re-deriving every signed head from the entries.
//! - [`TokenBackend`]: the token lifecycle the server uses, held by a [`TokenLedger`] or, with
//!   the `evm` feature, by an ERC-721 contract on a chain (`evm`).
#![warn(missing_docs)]

pub mod audit;
mod backend;
pub mod checkpoint;
pub mod entry;
mod error;
#[cfg(feature = "evm")]
pub mod evm;
pub mod keys;
mod ledger;
pub mod lifecycle;
pub mod merkle;
pub mod name;
pub mod note;
mod storage;
mod tokens;
pub mod verify;
pub mod writer;

pub use audit::AuditLedger;
pub use backend::TokenBackend;
pub use error::LedgerError;
pub use ledger::{InclusionProof, Ledger, Location, sqlite_dir};
pub use name::LedgerName;
pub use storage::{HeadRow, StoredCheckpoint, pg_role, pg_schema, sqlite_file};
pub use tokens::TokenLedger;
pub use writer::Receipt;
