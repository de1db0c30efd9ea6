//! Tests of enrolment at login.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;
use crate::entropy::Entropy;
use crate::ids::{AccountId, ChallengeId, SessionId};
use crate::login::{Assurance, ChallengeLimits};
use crate::secret::OpaqueToken;

struct Fixed(u8);

impl Entropy for Fixed {
    fn fill(&self, buf: &mut [u8]) {
        buf.fill(self.0);
    }
}

fn token(seed: u8) -> TokenHash {
    OpaqueToken::generate(&Fixed(seed)).hash()
}

/// An admin login whose password is proven and that needs a second factor it cannot have.
fn stuck() -> Challenge {
    let mut c = Challenge::start(
        ChallengeId::new(1, [0; 10]),
        Some(AccountId::new(1, [1; 10])),
        vec![FactorKind::Password],
        2,
        ChallengeLimits {
            lifetime_secs: 60,
            max_failures: 3,
        },
        1_000,
    );
    assert_eq!(
        c.record(FactorKind::Password, true, 1_001),
        Ok(Progress::NeedMore(vec![]))
    );
    c
}

fn roles(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn enrolment_is_offered_only_to_accounts_without_any_second_factor() {
    let none = BTreeMap::new();
    let admin = roles(&["admin"]);
    assert_eq!(
        offer(true, &[], &none, &admin),
        Some(vec![FactorKind::Totp])
    );
    // Switched off, or the account has a factor (even one its role does not accept).
    assert_eq!(offer(false, &[], &none, &admin), None);
    assert_eq!(offer(true, &[FactorKind::EmailOtp], &none, &admin), None);
    assert_eq!(
        offer(true, &[FactorKind::RecoveryCode], &none, &admin),
        None
    );
    // Only the kinds the role accepts.
    let mut rules = BTreeMap::new();
    rules.insert("admin".to_owned(), vec![FactorKind::Passkey]);
    assert_eq!(offer(true, &[], &rules, &admin), None);
    rules.insert(
        "admin".to_owned(),
        vec![FactorKind::Passkey, FactorKind::Totp],
    );
    assert_eq!(
        offer(true, &[], &rules, &admin),
        Some(vec![FactorKind::Totp])
    );
    rules.insert("*".to_owned(), vec![FactorKind::Sms]);
    assert_eq!(offer(true, &[], &rules, &admin), None);
}

#[test]
fn a_confirmed_enrolment_completes_the_login_at_two_factors_and_closes_the_grant() {
    let mut c = stuck();
    let t = token(7);
    c.require_enrolment(vec![FactorKind::Totp], &t, 1_600)
        .unwrap();
    assert_eq!(c.expires_at, 1_600);
    assert!(c.holds_enrolment_token(&t));
    assert!(!c.holds_enrolment_token(&token(8)));
    // Nothing can be answered the ordinary way meanwhile.
    assert_eq!(
        c.admit(FactorKind::Totp, 1_002),
        Err(ChallengeError::FactorNotOffered)
    );
    assert_eq!(c.admit_enrolment(FactorKind::Totp, 1_002), Ok(()));
    assert_eq!(
        c.admit_enrolment(FactorKind::Passkey, 1_002),
        Err(ChallengeError::FactorNotOffered)
    );
    assert_eq!(
        c.record_enrolment(FactorKind::Totp, 1_003),
        Ok(Progress::Complete {
            assurance: Assurance::Aal2,
            amr: vec!["pwd".into(), "otp".into()],
        })
    );
    // Closed: the token holds nothing and enrols nothing more.
    assert!(!c.holds_enrolment_token(&t));
    assert_eq!(
        c.admit_enrolment(FactorKind::Totp, 1_004),
        Err(ChallengeError::FactorNotOffered)
    );
}

#[test]
fn the_grant_expires_and_is_bounded_by_the_challenge_failures() {
    let mut c = stuck();
    c.require_enrolment(vec![FactorKind::Totp], &token(1), 1_100)
        .unwrap();
    assert_eq!(
        c.admit_enrolment(FactorKind::Totp, 1_100),
        Err(ChallengeError::Expired)
    );
    c.failures = c.max_failures;
    assert_eq!(
        c.admit_enrolment(FactorKind::Totp, 1_050),
        Err(ChallengeError::Exhausted)
    );
}

#[test]
fn only_a_stuck_login_with_a_proven_password_can_require_enrolment() {
    let t = token(3);
    // Password not proven yet.
    let mut fresh = Challenge::start(
        ChallengeId::new(1, [0; 10]),
        Some(AccountId::new(1, [1; 10])),
        vec![FactorKind::Password],
        2,
        ChallengeLimits::default(),
        1_000,
    );
    assert!(
        fresh
            .require_enrolment(vec![FactorKind::Totp], &t, 2_000)
            .is_err()
    );
    // A step-up, an unknown account, no kinds.
    let mut step_up = stuck();
    step_up.session = Some(SessionId::new(1, [2; 10]));
    assert!(
        step_up
            .require_enrolment(vec![FactorKind::Totp], &t, 2_000)
            .is_err()
    );
    let mut unknown = stuck();
    unknown.account = None;
    assert!(
        unknown
            .require_enrolment(vec![FactorKind::Totp], &t, 2_000)
            .is_err()
    );
    assert!(stuck().require_enrolment(vec![], &t, 2_000).is_err());
    // A login that still has a factor to answer.
    let mut more = Challenge::start(
        ChallengeId::new(1, [0; 10]),
        Some(AccountId::new(1, [1; 10])),
        vec![FactorKind::Password, FactorKind::Totp],
        2,
        ChallengeLimits::default(),
        1_000,
    );
    more.record(FactorKind::Password, true, 1_001).unwrap();
    assert!(
        more.require_enrolment(vec![FactorKind::Totp], &t, 2_000)
            .is_err()
    );
    assert!(fresh.enrolment.is_none() && more.enrolment.is_none());
}
