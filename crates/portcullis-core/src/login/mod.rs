//! Logging in: the challenge state machine that collects factors ([`challenge`]), the
//! assurance levels it reaches ([`assurance`]), the policy that decides which factors a
//! login or step-up asks for and how failures slow an account down ([`policy`]), the rule
//! of which sessions may change an account's factors ([`management`]), and the enrolment a
//! login asks of an account that lacks the second factor its role demands ([`enrolment`]).
//!
//! The login service in the server does the I/O around these: it loads what they need,
//! calls them, and persists what they decide.

pub mod assurance;
pub mod challenge;
pub mod enrolment;
pub mod management;
pub mod policy;

/// Re-exported from [`crate::factor`], where the kinds of factor are defined.
pub use crate::factor::FactorKind;
pub use assurance::Assurance;
pub use challenge::{Challenge, ChallengeError, ChallengeLimits, Progress};
