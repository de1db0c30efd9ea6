//! Enrolment at login: what happens when a role demands a second factor and the account has
//! none.
//!
//! The login used to refuse such an account ("ask an administrator"). Instead, once the
//! password is proven, the challenge moves to the `enrolment_required` state and hands the
//! client a restricted token (an [`EnrolmentGrant`] keeps only its hash). The token is not an
//! access token: it is an opaque secret that no JWT verifier (ours, the guard, forward-auth, a
//! third party's) can take for one. It is bound to the challenge and dies with it; it can only
//! start the enrolment of a factor the role accepts, confirm it, or abandon the login. The
//! confirmation is a real proof of the new factor (the first code from the authenticator app,
//! checked and its time step spent like any login code), so it also answers the challenge:
//! the session it completes has `acr`/`amr` of the password plus that factor.
//!
//! Two rules keep this from becoming a way around MFA:
//!
//! - enrolment is offered only to an account with no second factor of any kind: an account
//!   that has one (even one its role does not accept) is refused as before, or whoever knows
//!   only the password could add their own factor beside the owner's;
//! - the grant is checked again on every use, and completing it closes it: the token cannot
//!   enrol a second factor once the first is confirmed.
//!
//! These are pure decisions; the login service stores the challenge, checks the factor and
//! issues the session.

use serde::{Deserialize, Serialize};

use crate::factor::FactorKind;
use crate::login::challenge::{Challenge, ChallengeError, Progress};
use crate::login::policy;
use crate::secret::TokenHash;

/// The second factors a person can enrol during a login, in the order they are offered. Only
/// those whose first proof is checked by the server at confirmation (an authenticator app's
/// first code) are here: a passkey's registration with `none` attestation proves nothing
/// about who holds the key, so it would need a separate assertion.
pub const ENROLABLE_AT_LOGIN: [FactorKind; 1] = [FactorKind::Totp];

/// What a login whose policy cannot be met with the account's factors should do.
///
/// `enabled` is `login.enrol_at_login`; `enrolled` are the account's second factors of any
/// kind (before the role's `mfa_factors` narrow them); `rules` and `roles` are
/// `login.mfa_factors` and the account's roles. Returns the kinds to offer, or `None` when
/// the login must be refused.
pub fn offer(
    enabled: bool,
    enrolled: &[FactorKind],
    rules: &std::collections::BTreeMap<String, Vec<FactorKind>>,
    roles: &[String],
) -> Option<Vec<FactorKind>> {
    if !enabled || !enrolled.is_empty() {
        return None;
    }
    let kinds = policy::allowed_second_factors(rules, roles, ENROLABLE_AT_LOGIN.to_vec());
    (!kinds.is_empty()).then_some(kinds)
}

/// The enrolment a login challenge waits for: which kinds may be enrolled and the hash of the
/// restricted token that may do it (the token itself is shown once, to the client).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentGrant {
    /// Kinds the role accepts and the login can enrol.
    pub kinds: Vec<FactorKind>,
    /// SHA-256 of the restricted token.
    pub token_hash: Vec<u8>,
}

impl Challenge {
    /// Moves a login challenge whose password is proven, and which cannot complete with the
    /// factors it has, to the `enrolment_required` state until `expires_at` (the challenge
    /// then lives exactly as long as the grant).
    ///
    /// # Errors
    /// [`ChallengeError::FactorNotOffered`] for a step-up, a challenge without an account or
    /// proven password, one that still has factors to answer, or no kind to offer.
    pub fn require_enrolment(
        &mut self,
        kinds: Vec<FactorKind>,
        token_hash: &TokenHash,
        expires_at: i64,
    ) -> Result<(), ChallengeError> {
        let eligible = self.session.is_none()
            && self.account.is_some()
            && self.satisfied.contains(&FactorKind::Password)
            && self.remaining().is_empty()
            && self.satisfied.len() < self.required
            && !kinds.is_empty();
        if !eligible {
            return Err(ChallengeError::FactorNotOffered);
        }
        self.enrolment = Some(EnrolmentGrant {
            kinds,
            token_hash: token_hash.as_bytes().to_vec(),
        });
        self.expires_at = expires_at;
        Ok(())
    }

    /// Whether `presented` is this challenge's restricted token (compared in constant time).
    /// Always false when no enrolment is open.
    pub fn holds_enrolment_token(&self, presented: &TokenHash) -> bool {
        self.enrolment.as_ref().is_some_and(|g| {
            <[u8; 32]>::try_from(g.token_hash.as_slice())
                .is_ok_and(|bytes| TokenHash::from_bytes(bytes).ct_eq(presented))
        })
    }

    /// Checks that a factor of `kind` may be enrolled (or confirmed) under the grant now.
    ///
    /// # Errors
    /// [`ChallengeError::Expired`], [`ChallengeError::Exhausted`], or
    /// [`ChallengeError::FactorNotOffered`] when no enrolment is open or `kind` is not one it
    /// offers.
    pub fn admit_enrolment(&self, kind: FactorKind, now: i64) -> Result<(), ChallengeError> {
        if now >= self.expires_at {
            return Err(ChallengeError::Expired);
        }
        if self.failures >= self.max_failures {
            return Err(ChallengeError::Exhausted);
        }
        match &self.enrolment {
            Some(grant) if grant.kinds.contains(&kind) => Ok(()),
            _ => Err(ChallengeError::FactorNotOffered),
        }
    }

    /// Records that a factor of `kind` was enrolled and proven under the grant: the grant
    /// closes (its token can do nothing more) and the factor counts as answered.
    ///
    /// # Errors
    /// As [`Challenge::admit_enrolment`].
    pub fn record_enrolment(
        &mut self,
        kind: FactorKind,
        now: i64,
    ) -> Result<Progress, ChallengeError> {
        self.admit_enrolment(kind, now)?;
        self.enrolment = None;
        self.available.push(kind);
        self.record(kind, true, now)
    }
}

#[cfg(test)]
#[path = "enrolment_tests.rs"]
mod tests;
