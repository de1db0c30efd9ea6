//! Login policy: which factors a login or step-up asks for, how long repeated failures make
//! an account wait, and what a step-up adds to a session.
//!
//! These are the decisions of the login service, kept here without I/O so that each can be
//! read in one place and tested with a table. The service reads the account, its factors,
//! the failure count and the configured rules from the store and the configuration, calls
//! these, and writes back what they decide.

use std::collections::BTreeMap;

use crate::factor::FactorKind;
use crate::login::Assurance;

/// The rule key that applies to every account, whatever its roles.
pub const EVERYONE: &str = "*";

/// Second factors in the order a login offers them. Recovery codes come last: they are for
/// when the others are out of reach.
pub const OFFER_ORDER: [FactorKind; 9] = [
    FactorKind::Wallet,
    FactorKind::Totp,
    FactorKind::Passkey,
    FactorKind::Sms,
    FactorKind::EmailOtp,
    FactorKind::PatternOtp,
    FactorKind::Image,
    FactorKind::Gesture,
    FactorKind::RecoveryCode,
];

/// How many factors a login of an account with `roles` needs (`login.required_factors`):
/// the largest count among its roles' rules, never below the `*` rule (1 without one). An
/// unknown account (`None`) gets the `*` rule, exactly as a known one without roles would.
pub fn required_factors(rules: &BTreeMap<String, usize>, roles: Option<&[String]>) -> usize {
    let global = rules.get(EVERYONE).copied().unwrap_or(1);
    roles.map_or(global, |roles| {
        roles
            .iter()
            .filter_map(|r| rules.get(r))
            .copied()
            .max()
            .unwrap_or(global)
            .max(global)
    })
}

/// The second factors an account can answer with: its confirmed factors of `confirmed`
/// kinds, and recovery codes while some are left, in [`OFFER_ORDER`].
pub fn enrolled_second_factors(
    confirmed: &[FactorKind],
    recovery_codes_left: i64,
) -> Vec<FactorKind> {
    OFFER_ORDER
        .into_iter()
        .filter(|kind| match kind {
            FactorKind::RecoveryCode => recovery_codes_left > 0,
            other => confirmed.contains(other),
        })
        .collect()
}

/// The assurance a login with the password and any of `usable` (the account's usable second
/// factors) can reach: AAL2 once one of them is another kind of factor than the password.
/// A gesture alone beside the password is knowledge twice, so its account's level stays
/// AAL1 (and a session at AAL1 may still change its factors).
pub fn account_level(usable: &[FactorKind]) -> Assurance {
    usable
        .iter()
        .map(|f| {
            let methods = FactorKind::Password
                .amr_values()
                .iter()
                .chain(f.amr_values());
            Assurance::for_methods(methods.copied())
        })
        .max()
        .unwrap_or(Assurance::Aal1)
}

/// Narrows `enrolled` to the second factors `roles` may use (`login.mfa_factors`): every
/// role with a rule, and the `*` rule, must allow a factor; with no rule every factor counts.
pub fn allowed_second_factors(
    rules: &BTreeMap<String, Vec<FactorKind>>,
    roles: &[String],
    enrolled: Vec<FactorKind>,
) -> Vec<FactorKind> {
    let applicable: Vec<&Vec<FactorKind>> = roles
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(EVERYONE))
        .filter_map(|r| rules.get(r))
        .collect();
    enrolled
        .into_iter()
        .filter(|f| applicable.iter().all(|allowed| allowed.contains(f)))
        .collect()
}

/// What a challenge starts with: the factors it offers and how many it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Factors the challenge offers.
    pub available: Vec<FactorKind>,
    /// Distinct factors it needs.
    pub required: usize,
}

/// A login: the password, then the account's usable second factors. Whoever enrolled a
/// second factor always needs two, whatever the role rules say.
pub fn login_plan(required: usize, second: Vec<FactorKind>) -> Plan {
    let required = if second.is_empty() {
        required
    } else {
        required.max(2)
    };
    let mut available = vec![FactorKind::Password];
    available.extend(second);
    Plan {
        available,
        required,
    }
}

/// A step-up: one fresh factor, one of the account's usable second factors, or the password
/// for an account without any.
pub fn step_up_plan(second: Vec<FactorKind>) -> Plan {
    let available = if second.is_empty() {
        vec![FactorKind::Password]
    } else {
        second
    };
    Plan {
        available,
        required: 1,
    }
}

/// A passwordless login: one passkey, which verifies its user on the device.
pub fn passwordless_plan() -> Plan {
    Plan {
        available: vec![FactorKind::Passkey],
        required: 1,
    }
}

/// Whether an authentication at `auth_time` is recent enough for something that accepts
/// at most `max_age` seconds (a fresh-authentication gate, a step-up's `max_age`).
pub fn is_fresh(auth_time: i64, max_age: i64, now: i64) -> bool {
    auth_time.saturating_add(max_age) >= now
}

/// Exponential back-off after failed logins (`login.free_failures`, `backoff_base_secs`,
/// `backoff_max_secs`): it slows guessing without letting anyone lock a user out for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the back-off starts.
    pub free_failures: i64,
    /// First delay; doubles with each further failure.
    pub base_secs: i64,
    /// Longest delay.
    pub max_secs: i64,
}

impl Backoff {
    /// Seconds still to wait after `failures` failures, the last at `last_failure`; `None`
    /// when the next attempt may go ahead at `now`.
    pub fn retry_after(&self, failures: i64, last_failure: i64, now: i64) -> Option<u64> {
        if failures < self.free_failures {
            return None;
        }
        let exp = u32::try_from(failures - self.free_failures)
            .unwrap_or(u32::MAX)
            .min(30);
        let wait = self
            .base_secs
            .saturating_mul(1i64 << exp)
            .min(self.max_secs);
        let until = last_failure.saturating_add(wait);
        (now < until).then(|| u64::try_from(until - now).unwrap_or(1))
    }
}

/// A session's `acr` and `amr` after a step-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elevation {
    /// The raised assurance.
    pub acr: Assurance,
    /// The session's methods followed by the new ones, each once.
    pub amr: Vec<String>,
}

/// Adds the `amr` values a step-up just `proven` to a session's (`session_amr`, in order,
/// new ones appended once). The assurance is what the combined methods reach, and never
/// lower than the session's `session_acr` (an unknown value counts as AAL1).
pub fn elevate(session_acr: &str, session_amr: &[String], proven: Vec<String>) -> Elevation {
    let mut amr = session_amr.to_vec();
    for method in proven {
        if !amr.contains(&method) {
            amr.push(method);
        }
    }
    let acr = Assurance::for_methods(amr.iter().map(String::as_str))
        .max(Assurance::from_acr(session_acr).unwrap_or(Assurance::Aal1));
    Elevation { acr, amr }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
