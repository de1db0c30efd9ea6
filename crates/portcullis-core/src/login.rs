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

use crate::ids::{AccountId, ChallengeId};

/// A factor a login can be answered with. Later factors (TOTP, passkeys, codes) join this enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// Something the user knows: the account password.
    Password,
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// One of the account's single-use recovery codes.
    RecoveryCode,
    /// A code sent by SMS to a verified phone number.
    Sms,
    /// A code sent by e-mail.
    EmailOtp,
    /// A WebAuthn credential (passkey or security key), with user verification.
    Passkey,
}

impl FactorKind {
    /// The RFC 8176 authentication method reference for this factor.
    pub fn amr(self) -> &'static str {
        match self {
            FactorKind::Password => "pwd",
            FactorKind::Totp | FactorKind::RecoveryCode | FactorKind::EmailOtp => "otp",
            FactorKind::Sms => "sms",
            FactorKind::Passkey => "hwk",
        }
    }

    /// Every `amr` value a use of this factor earns. A passkey verifies the user on the
    /// device (PIN or biometric), so it is a multi-factor authenticator by itself: `hwk`
    /// and `mfa`.
    pub fn amr_values(self) -> &'static [&'static str] {
        match self {
            FactorKind::Password => &["pwd"],
            FactorKind::Totp | FactorKind::RecoveryCode | FactorKind::EmailOtp => &["otp"],
            FactorKind::Sms => &["sms"],
            FactorKind::Passkey => &["hwk", "mfa"],
        }
    }
}

/// Authentication assurance, published as the `acr` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Assurance {
    /// One factor.
    #[serde(rename = "aal1")]
    Aal1,
    /// Two or more distinct factors.
    #[serde(rename = "aal2")]
    Aal2,
}

impl Assurance {
    /// The `acr` claim value.
    pub fn acr(self) -> &'static str {
        match self {
            Assurance::Aal1 => "aal1",
            Assurance::Aal2 => "aal2",
        }
    }

    /// Parses an `acr` value.
    pub fn from_acr(s: &str) -> Option<Self> {
        match s {
            "aal1" => Some(Assurance::Aal1),
            "aal2" => Some(Assurance::Aal2),
            _ => None,
        }
    }

    /// Assurance of a set of `amr` values: two distinct methods make AAL2.
    pub fn for_methods<'a>(amr: impl IntoIterator<Item = &'a str>) -> Self {
        let mut distinct: Vec<&str> = amr.into_iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() >= 2 {
            Assurance::Aal2
        } else {
            Assurance::Aal1
        }
    }
}

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
    /// Failed answers so far.
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
    pub session: Option<crate::ids::SessionId>,
    /// Pending WebAuthn ceremony state (opaque to core), kept server-side between the
    /// options and the assertion.
    #[serde(default)]
    pub webauthn: Option<serde_json::Value>,
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn start(account: bool, required: usize) -> Challenge {
        Challenge::start(
            ChallengeId::new(1, [0; 10]),
            account.then(|| AccountId::new(1, [1; 10])),
            vec![FactorKind::Password],
            required,
            ChallengeLimits {
                lifetime_secs: 60,
                max_failures: 3,
            },
            1_000,
        )
    }

    #[test]
    fn password_completes_a_single_factor_policy() {
        let mut c = start(true, 1);
        let p = c.record(FactorKind::Password, true, 1_001).unwrap();
        assert_eq!(
            p,
            Progress::Complete {
                assurance: Assurance::Aal1,
                amr: vec!["pwd".into()]
            }
        );
    }

    #[test]
    fn a_policy_wanting_more_factors_than_available_never_completes() {
        let mut c = start(true, 2);
        assert_eq!(
            c.record(FactorKind::Password, true, 1_001),
            Ok(Progress::NeedMore(vec![]))
        );
        assert_eq!(
            c.record(FactorKind::Password, true, 1_002),
            Err(ChallengeError::FactorNotOffered)
        );
    }

    #[test]
    fn failures_are_bounded() {
        let mut c = start(true, 1);
        assert_eq!(
            c.record(FactorKind::Password, false, 1_001),
            Err(ChallengeError::Rejected { attempts_left: 2 })
        );
        c.record(FactorKind::Password, false, 1_001).unwrap_err();
        c.record(FactorKind::Password, false, 1_001).unwrap_err();
        assert_eq!(
            c.record(FactorKind::Password, true, 1_001),
            Err(ChallengeError::Exhausted)
        );
    }

    #[test]
    fn expiry_is_enforced() {
        let mut c = start(true, 1);
        assert_eq!(c.expires_in(1_030), 30);
        assert_eq!(
            c.record(FactorKind::Password, true, 1_060),
            Err(ChallengeError::Expired)
        );
    }

    #[test]
    fn unknown_account_fails_like_a_wrong_password() {
        let mut c = start(false, 1);
        assert_eq!(
            c.record(FactorKind::Password, true, 1_001),
            Err(ChallengeError::Rejected { attempts_left: 2 })
        );
    }

    #[test]
    fn state_round_trips_through_json() {
        let c = start(true, 1);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Challenge>(&json).unwrap(), c);
    }

    fn start_mfa() -> Challenge {
        Challenge::start(
            ChallengeId::new(1, [0; 10]),
            Some(AccountId::new(1, [1; 10])),
            vec![
                FactorKind::Password,
                FactorKind::Totp,
                FactorKind::RecoveryCode,
            ],
            2,
            ChallengeLimits::default(),
            1_000,
        )
    }

    #[test]
    fn password_then_one_code_makes_aal2() {
        let mut c = start_mfa();
        assert_eq!(c.remaining(), vec![FactorKind::Password]);
        assert_eq!(
            c.record(FactorKind::Password, true, 1_001),
            Ok(Progress::NeedMore(vec![
                FactorKind::Totp,
                FactorKind::RecoveryCode
            ]))
        );
        assert_eq!(
            c.record(FactorKind::Totp, true, 1_002),
            Ok(Progress::Complete {
                assurance: Assurance::Aal2,
                amr: vec!["pwd".into(), "otp".into()]
            })
        );
    }

    #[test]
    fn codes_never_replace_the_password() {
        let mut c = start_mfa();
        assert_eq!(
            c.record(FactorKind::Totp, true, 1_001),
            Err(ChallengeError::FactorNotOffered)
        );
        assert_eq!(
            c.record(FactorKind::RecoveryCode, true, 1_001),
            Err(ChallengeError::FactorNotOffered)
        );
    }

    #[test]
    fn a_step_up_without_password_takes_one_code() {
        let mut c = Challenge::start(
            ChallengeId::new(1, [0; 10]),
            Some(AccountId::new(1, [1; 10])),
            vec![FactorKind::Totp, FactorKind::RecoveryCode],
            1,
            ChallengeLimits::default(),
            1_000,
        );
        assert_eq!(
            c.record(FactorKind::RecoveryCode, true, 1_001),
            Ok(Progress::Complete {
                assurance: Assurance::Aal1,
                amr: vec!["otp".into()]
            })
        );
    }

    #[test]
    fn a_passkey_alone_is_multi_factor() {
        let mut c = Challenge::start(
            ChallengeId::new(1, [0; 10]),
            Some(AccountId::new(1, [1; 10])),
            vec![FactorKind::Passkey],
            1,
            ChallengeLimits::default(),
            1_000,
        );
        assert_eq!(
            c.record(FactorKind::Passkey, true, 1_001),
            Ok(Progress::Complete {
                assurance: Assurance::Aal2,
                amr: vec!["hwk".into(), "mfa".into()]
            })
        );
    }

    #[test]
    fn assurance_counts_distinct_methods() {
        assert_eq!(Assurance::for_methods(["pwd"]), Assurance::Aal1);
        assert_eq!(Assurance::for_methods(["otp", "otp"]), Assurance::Aal1);
        assert_eq!(Assurance::for_methods(["pwd", "otp"]), Assurance::Aal2);
    }

    #[test]
    fn acr_values_parse_back() {
        for a in [Assurance::Aal1, Assurance::Aal2] {
            assert_eq!(Assurance::from_acr(a.acr()), Some(a));
        }
        assert!(Assurance::Aal2 > Assurance::Aal1);
    }
}
