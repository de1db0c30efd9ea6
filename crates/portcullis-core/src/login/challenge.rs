//! The login challenge: a short-lived state machine that collects factors until the policy is
//! met.
//!
//! A login starts with what the client offers (an e-mail, perhaps a password). Each accepted
//! factor is recorded; when as many distinct factors as the account's policy demands are
//! satisfied, the challenge is complete and the caller issues a session with the resulting
//! `acr` and `amr`. Failures count against a bound; the lifetime is bounded too. A challenge for
//! an unknown account runs exactly the same way and simply never succeeds, so the answers do
//! not reveal whether an account exists.

use serde::{Deserialize, Serialize};

use crate::factor::FactorKind;
use crate::ids::{AccountId, ChallengeId, SessionId};
use crate::login::Assurance;

/// Bounds of a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeLimits {
    /// Seconds from start until the challenge expires.
    pub lifetime_secs: i64,
    /// Failed answers allowed before the challenge is spent.
    pub max_failures: u32,
}

impl Default for ChallengeLimits {
    fn default() -> Self {
        Self {
            lifetime_secs: 300,
            max_failures: 5,
        }
    }
}

/// Server-side state of one login attempt; persisted between requests as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The id the client answers to.
    pub id: ChallengeId,
    /// The account being logged into; `None` for an unknown e-mail (the challenge then fails
    /// like a wrong password would).
    pub account: Option<AccountId>,
    /// Factors the account can use.
    pub available: Vec<FactorKind>,
    /// Factors satisfied so far, in order.
    pub satisfied: Vec<FactorKind>,
    /// How many distinct factors the policy demands.
    pub required: usize,
    /// Failed answers so far. A stored challenge reads it from the store's attempt count,
    /// which an answer takes before it is checked (and a verified one gives back), so it
    /// includes answers still being checked.
    pub failures: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Copied from the limits at start.
    pub max_failures: u32,
    /// Opaque key of what the client typed to identify itself (the e-mail's blind index), so
    /// throttling treats known and unknown accounts alike.
    #[serde(default)]
    pub login_key: Vec<u8>,
    /// For a step-up, the session whose assurance it raises; `None` for a login.
    #[serde(default)]
    pub session: Option<SessionId>,
    /// Pending WebAuthn ceremony state (opaque to core), kept server-side between the
    /// options and the assertion.
    #[serde(default)]
    pub webauthn: Option<serde_json::Value>,
    /// Set while the login waits for the account to enrol a second factor its role demands
    /// (the `enrolment_required` state, [`crate::login::enrolment`]).
    #[serde(default)]
    pub enrolment: Option<crate::login::enrolment::EnrolmentGrant>,
    /// The wallet step in progress (or proven), between its message and the login's end.
    #[serde(default)]
    pub wallet: Option<crate::eth::login::WalletCeremony>,
}

/// What a recorded answer led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The policy is met: issue a session.
    Complete {
        /// Assurance reached.
        assurance: Assurance,
        /// `amr` values of the satisfied factors.
        amr: Vec<String>,
    },
    /// More factors are needed; these remain.
    NeedMore(Vec<FactorKind>),
}

/// Why an answer was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The challenge outlived its lifetime.
    #[error("the login challenge has expired")]
    Expired,
    /// Too many failed answers; start again.
    #[error("too many failed attempts for this login challenge")]
    Exhausted,
    /// The factor is not one this challenge still waits for.
    #[error("this factor is not offered by the login challenge")]
    FactorNotOffered,
    /// The answer was wrong (or the account unknown — indistinguishable on purpose).
    #[error("the credentials are not valid")]
    Rejected {
        /// Failed answers still allowed.
        attempts_left: u32,
    },
}

impl Challenge {
    /// Starts a challenge. `required` is clamped to at least one factor.
    pub fn start(
        id: ChallengeId,
        account: Option<AccountId>,
        available: Vec<FactorKind>,
        required: usize,
        limits: ChallengeLimits,
        now: i64,
    ) -> Self {
        Self {
            id,
            account,
            available,
            satisfied: Vec::new(),
            required: required.max(1),
            failures: 0,
            created_at: now,
            expires_at: now + limits.lifetime_secs,
            max_failures: limits.max_failures,
            login_key: Vec::new(),
            session: None,
            webauthn: None,
            enrolment: None,
            wallet: None,
        }
    }

    /// Factors that may be answered now. While the password is offered and not yet proven,
    /// it is the only one: possession factors add to a password, they never replace it, so
    /// two codes cannot make a login without it.
    pub fn remaining(&self) -> Vec<FactorKind> {
        if self.available.contains(&FactorKind::Password)
            && !self.satisfied.contains(&FactorKind::Password)
        {
            return vec![FactorKind::Password];
        }
        self.available
            .iter()
            .copied()
            .filter(|f| !self.satisfied.contains(f))
            .collect()
    }

    /// Seconds until expiry (never negative).
    pub fn expires_in(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }

    /// Checks that an answer for `factor` may be attempted now.
    ///
    /// # Errors
    /// Expired, exhausted, or a factor not offered.
    pub fn admit(&self, factor: FactorKind, now: i64) -> Result<(), ChallengeError> {
        if now >= self.expires_at {
            return Err(ChallengeError::Expired);
        }
        if self.failures >= self.max_failures {
            return Err(ChallengeError::Exhausted);
        }
        if !self.remaining().contains(&factor) {
            return Err(ChallengeError::FactorNotOffered);
        }
        Ok(())
    }

    /// Records the verifier's verdict for `factor`. A challenge without an account never
    /// completes: its verdicts are treated as failures whatever the caller passes.
    ///
    /// # Errors
    /// As [`Challenge::admit`], or [`ChallengeError::Rejected`] for a failed answer.
    pub fn record(
        &mut self,
        factor: FactorKind,
        verified: bool,
        now: i64,
    ) -> Result<Progress, ChallengeError> {
        self.admit(factor, now)?;
        if !verified || self.account.is_none() {
            self.failures += 1;
            return Err(ChallengeError::Rejected {
                attempts_left: self.max_failures.saturating_sub(self.failures),
            });
        }
        self.satisfied.push(factor);
        let remaining = self.remaining();
        if self.satisfied.len() >= self.required {
            let mut amr: Vec<String> = Vec::new();
            for value in self.satisfied.iter().flat_map(|f| f.amr_values()) {
                if !amr.iter().any(|a| a == value) {
                    amr.push((*value).to_owned());
                }
            }
            Ok(Progress::Complete {
                assurance: Assurance::for_methods(amr.iter().map(String::as_str)),
                amr,
            })
        } else {
            Ok(Progress::NeedMore(remaining))
        }
    }
}

#[cfg(test)]
#[path = "challenge_tests.rs"]
mod tests;
