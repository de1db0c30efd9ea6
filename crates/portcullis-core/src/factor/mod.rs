//! Factors: their kinds ([`FactorKind`], the one name of each) and their pure verifiers.
//! Each verifier takes the stored state, the answer and `now`, and returns a decision plus
//! the new state for the store to persist.

pub mod kind;
pub mod otp;
pub mod pattern;
pub mod recovery;
pub mod totp;

pub use kind::{FactorKind, UnknownFactorKind};
