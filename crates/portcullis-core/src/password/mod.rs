//! Passwords: the plain secret, the policy a new one must meet, and its argon2id hash.
//!
//! This module owns every rule about passwords so the server and the store never handle one
//! in any other way:
//!
//! - [`Password`] wraps the plain text in a zeroizing secret that never prints itself and
//!   cannot be serialized.
//! - [`PasswordPolicy`] follows NIST SP 800-63B: a length range counted in Unicode scalar
//!   values, no composition rules, a strength estimate (zxcvbn) that knows the account's own
//!   details, and a refusal of passwords built from the e-mail address.
//! - [`PasswordHasher`] hashes with argon2id (version 0x13) into a PHC string, reports when a
//!   stored hash was made with other parameters so the caller can rehash at the next login,
//!   and offers [`PasswordHasher::dummy_verify`] so an unknown account costs as much as a
//!   known one.
//!
//! There is no I/O here: the caller draws the salt from its entropy source and passes it in.
//! Hashing is deliberately slow; the server runs it on a blocking thread.

mod hasher;
mod policy;

pub use hasher::{Argon2Params, PasswordError, PasswordHash, PasswordHasher, Verification};
pub use policy::{Password, PasswordPolicy, PasswordRejection};
