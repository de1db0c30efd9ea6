//! Factors: their kinds ([`FactorKind`], the one name of each) and their pure verifiers.
//! Each verifier takes the stored state, the answer and `now`, and returns a decision plus
//! the new state for the store to persist. The passcodes (`image`, `gesture`) are rules on
//! the input only: what may be enrolled and the secret it stands for, which the caller hashes
//! with the password hasher.

pub mod gesture;
pub mod image;
pub mod kind;
pub mod otp;
pub mod pattern;
pub mod recovery;
pub mod totp;

pub use kind::{FactorKind, UnknownFactorKind};
