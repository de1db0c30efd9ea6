//! `[login]`: bounds of a login challenge, back-off after failures, and which roles need
//! which factors.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use portcullis_core::login::{ChallengeLimits, FactorKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Login challenge bounds and back-off after failures.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Challenge lifetime and failure bound (core's type: the challenge counts in unix
    /// seconds).
    pub challenge: ChallengeLimits,
    /// Failures allowed before back-off starts.
    pub free_failures: i64,
    /// First back-off delay; doubles with each further failure.
    #[serde(rename = "backoff_base_secs", with = "secs")]
    pub backoff_base: Duration,
    /// Longest back-off delay (never a permanent lock).
    #[serde(rename = "backoff_max_secs", with = "secs")]
    pub backoff_max: Duration,
    /// Roles whose members need this many factors (DESIGN §2); `*` applies to everyone.
    /// Someone who enrolled a second factor always needs two.
    pub required_factors: BTreeMap<String, usize>,
    /// Which second factors satisfy MFA for a role, e.g. `admin = ["passkey", "totp"]`;
    /// roles without an entry accept every kind.
    pub mfa_factors: BTreeMap<String, Vec<FactorKind>>,
    /// Whether someone whose role requires a second factor and who has none at all may enrol
    /// one during the login, with a restricted token, instead of being refused.
    pub enrol_at_login: bool,
    /// Lifetime of that restricted token (and of the login challenge it belongs to).
    #[serde(rename = "enrolment_ttl_secs", with = "secs")]
    pub enrolment_ttl: Duration,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            challenge: ChallengeLimits::default(),
            free_failures: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(900),
            required_factors: BTreeMap::new(),
            mfa_factors: BTreeMap::new(),
            enrol_at_login: true,
            enrolment_ttl: Duration::from_secs(600),
        }
    }
}

impl LoginConfig {
    /// A challenge, and an enrolment at login, must live long enough to be answered.
    ///
    /// # Errors
    /// A lifetime of zero or less.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive(
            "login.challenge.lifetime_secs",
            self.challenge.lifetime_secs <= 0,
        )?;
        positive("login.enrolment_ttl_secs", self.enrolment_ttl.is_zero())
    }
}
