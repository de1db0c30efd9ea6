//! Second factors: their pure verifiers. Each takes the stored state, the answer and `now`,
//! and returns a decision plus the new state for the store to persist.

pub mod otp;
pub mod recovery;
pub mod totp;
