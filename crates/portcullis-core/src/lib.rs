//! Portcullis core: the domain types and rules, with no I/O.
//!
//! Nothing in this crate touches the network, the disk, the clock or the operating system's
//! randomness: callers pass `now` (unix seconds) and an [`entropy::Entropy`] source, so every rule
//! can be tested with fixed inputs. The store persists what these functions decide; the server
//! maps their errors to HTTP once.

#![warn(missing_docs)]

pub mod api_key;
pub mod audit;
pub mod contact;
pub mod custody;
pub mod dualconfirm;
pub mod entropy;
pub mod eth;
pub mod factor;
pub mod ids;
pub mod login;
pub mod password;
pub mod secret;
pub mod token;
pub mod webhook;
