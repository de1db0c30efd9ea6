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
//! - [`note`] and [`checkpoint`]: the signed tree head.
#![warn(missing_docs)]

pub mod checkpoint;
pub mod merkle;
pub mod note;
