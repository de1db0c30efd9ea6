//! Tests of the challenge state machine.

#![allow(clippy::unwrap_used)]

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

/// A pattern sent out of band is a possession factor like a sent code: with the password it
/// is AAL2, and it alone is one method (`otp`), whatever channel carried it.
#[test]
fn password_then_a_pattern_otp_makes_aal2_and_a_pattern_alone_does_not() {
    let mut c = Challenge::start(
        ChallengeId::new(1, [0; 10]),
        Some(AccountId::new(1, [1; 10])),
        vec![FactorKind::Password, FactorKind::PatternOtp],
        2,
        ChallengeLimits::default(),
        1_000,
    );
    assert_eq!(
        c.admit(FactorKind::PatternOtp, 1_001),
        Err(ChallengeError::FactorNotOffered)
    );
    c.record(FactorKind::Password, true, 1_001).unwrap();
    assert_eq!(
        c.record(FactorKind::PatternOtp, true, 1_002),
        Ok(Progress::Complete {
            assurance: Assurance::Aal2,
            amr: vec!["pwd".into(), "otp".into()]
        })
    );
    assert_eq!(
        Assurance::for_methods(FactorKind::PatternOtp.amr_values().iter().copied()),
        Assurance::Aal1
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
