//! Table tests of the login policy.

use super::*;
use FactorKind::{EmailOtp, Passkey, Password, PatternOtp, RecoveryCode, Sms, Totp};

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|r| (*r).to_owned()).collect()
}

fn counts(rules: &[(&str, usize)]) -> BTreeMap<String, usize> {
    rules.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect()
}

#[test]
fn required_factors_per_role() {
    type Row<'a> = (&'a [(&'a str, usize)], Option<&'a [&'a str]>, usize);
    let table: &[Row<'_>] = &[
        // No rule: one factor, known or unknown account.
        (&[], None, 1),
        (&[], Some(&["admin"]), 1),
        // The `*` rule applies to everyone, unknown accounts too.
        (&[("*", 2)], None, 2),
        (&[("*", 2)], Some(&[]), 2),
        // A role's rule raises the count for its members only.
        (&[("admin", 2)], Some(&["admin"]), 2),
        (&[("admin", 2)], Some(&["client"]), 1),
        (&[("admin", 2)], None, 1),
        // The largest of the roles' rules wins…
        (
            &[("admin", 3), ("advisor", 2)],
            Some(&["advisor", "admin"]),
            3,
        ),
        // …and a role never goes below the `*` rule.
        (&[("*", 2), ("client", 1)], Some(&["client"]), 2),
    ];
    for (rules, account_roles, expected) in table {
        let owned = account_roles.map(roles);
        assert_eq!(
            required_factors(&counts(rules), owned.as_deref()),
            *expected,
            "rules {rules:?}, roles {account_roles:?}"
        );
    }
}

#[test]
fn enrolled_second_factors_come_in_offer_order() {
    let table: &[(&[FactorKind], i64, &[FactorKind])] = &[
        (&[], 0, &[]),
        (&[], 10, &[RecoveryCode]),
        (&[Totp], 0, &[Totp]),
        (&[Totp], -1, &[Totp]),
        (
            &[EmailOtp, Sms, Passkey, Totp],
            3,
            &[Totp, Passkey, Sms, EmailOtp, RecoveryCode],
        ),
        (&[Sms, Sms], 0, &[Sms]),
        (
            &[PatternOtp, EmailOtp, Totp],
            1,
            &[Totp, EmailOtp, PatternOtp, RecoveryCode],
        ),
        // Neither a password nor a recovery-code row makes a second factor by itself.
        (&[Password, RecoveryCode], 0, &[]),
    ];
    for (confirmed, left, expected) in table {
        assert_eq!(
            enrolled_second_factors(confirmed, *left),
            expected.to_vec(),
            "{confirmed:?}, {left} codes left"
        );
    }
}

#[test]
fn allowed_second_factors_narrow_by_every_rule() {
    let all = vec![Totp, Passkey, Sms, RecoveryCode];
    let rules: BTreeMap<String, Vec<FactorKind>> = [
        ("admin".to_owned(), vec![Passkey, Totp]),
        ("advisor".to_owned(), vec![Totp, Sms, RecoveryCode]),
    ]
    .into_iter()
    .collect();
    let with_star: BTreeMap<String, Vec<FactorKind>> = [("*".to_owned(), vec![Totp, Sms])]
        .into_iter()
        .chain(rules.clone())
        .collect();
    type Row<'a> = (
        &'a BTreeMap<String, Vec<FactorKind>>,
        &'a [&'a str],
        &'a [FactorKind],
    );
    let table: &[Row<'_>] = &[
        // No rule for the role: everything enrolled counts.
        (&rules, &["client"], &[Totp, Passkey, Sms, RecoveryCode]),
        (&rules, &[], &[Totp, Passkey, Sms, RecoveryCode]),
        (&rules, &["admin"], &[Totp, Passkey]),
        // Two roles with rules: a factor must be allowed by both.
        (&rules, &["admin", "advisor"], &[Totp]),
        // The `*` rule narrows everyone.
        (&with_star, &["client"], &[Totp, Sms]),
        (&with_star, &["admin"], &[Totp]),
    ];
    for (rules, account_roles, expected) in table {
        assert_eq!(
            allowed_second_factors(rules, &roles(account_roles), all.clone()),
            expected.to_vec(),
            "roles {account_roles:?}"
        );
    }
}

#[test]
fn login_plans() {
    let table: &[(usize, &[FactorKind], &[FactorKind], usize)] = &[
        (1, &[], &[Password], 1),
        // A role wanting two with nothing enrolled: the challenge can never complete.
        (2, &[], &[Password], 2),
        // An enrolled second factor always makes two.
        (1, &[Totp], &[Password, Totp], 2),
        (3, &[Totp, Sms], &[Password, Totp, Sms], 3),
    ];
    for (required, second, available, needed) in table {
        assert_eq!(
            login_plan(*required, second.to_vec()),
            Plan {
                available: available.to_vec(),
                required: *needed
            },
            "{required}, {second:?}"
        );
    }
}

#[test]
fn step_up_plans_take_one_fresh_factor() {
    let table: &[(&[FactorKind], &[FactorKind])] = &[
        (&[], &[Password]),
        (&[Totp], &[Totp]),
        (&[Passkey, RecoveryCode], &[Passkey, RecoveryCode]),
    ];
    for (second, available) in table {
        assert_eq!(
            step_up_plan(second.to_vec()),
            Plan {
                available: available.to_vec(),
                required: 1
            }
        );
    }
}

#[test]
fn a_passwordless_login_takes_one_passkey() {
    assert_eq!(
        passwordless_plan(),
        Plan {
            available: vec![Passkey],
            required: 1
        }
    );
}

#[test]
fn freshness_includes_the_boundary() {
    let table = [
        (1_000, 300, 1_300, true),
        (1_000, 300, 1_301, false),
        (1_000, 0, 1_000, true),
        (1_000, 0, 1_001, false),
        (1_000, i64::MAX, i64::MAX, true),
    ];
    for (auth_time, max_age, now, fresh) in table {
        assert_eq!(
            is_fresh(auth_time, max_age, now),
            fresh,
            "{auth_time} {max_age} {now}"
        );
    }
}

#[test]
fn backoff_doubles_after_the_free_failures_up_to_the_cap() {
    let b = Backoff {
        free_failures: 3,
        base_secs: 1,
        max_secs: 900,
    };
    // (failures, seconds since the last failure, wait left)
    let table = [
        (0, 0, None),
        (2, 0, None),
        (3, 0, Some(1)),
        (3, 1, None),
        (4, 0, Some(2)),
        (5, 0, Some(4)),
        (5, 3, Some(1)),
        (5, 4, None),
        (12, 0, Some(512)),
        (13, 0, Some(900)),
        (13, 899, Some(1)),
        (13, 900, None),
        // Far past the cap the exponent stops growing and nothing overflows.
        (i64::MAX, 0, Some(900)),
    ];
    for (failures, since, left) in table {
        assert_eq!(
            b.retry_after(failures, 10_000, 10_000 + since),
            left,
            "{failures} failures, {since} s since"
        );
    }
}

#[test]
fn elevation_merges_methods_and_never_lowers_the_assurance() {
    let s = |v: &[&str]| roles(v);
    // (session acr, session amr, proven, raised acr, merged amr)
    type Row<'a> = (
        &'a str,
        &'a [&'a str],
        &'a [&'a str],
        Assurance,
        &'a [&'a str],
    );
    let table: &[Row<'_>] = &[
        ("aal1", &["pwd"], &["otp"], Assurance::Aal2, &["pwd", "otp"]),
        // A method already on the session is not repeated, and one method stays AAL1.
        ("aal1", &["pwd"], &["pwd"], Assurance::Aal1, &["pwd"]),
        // A passkey alone reaches AAL2.
        (
            "aal1",
            &[],
            &["hwk", "mfa"],
            Assurance::Aal2,
            &["hwk", "mfa"],
        ),
        // A session at AAL2 stays there whatever was proven.
        ("aal2", &["otp"], &["otp"], Assurance::Aal2, &["otp"]),
        // An unknown `acr` counts as AAL1.
        ("client", &["pwd"], &["pwd"], Assurance::Aal1, &["pwd"]),
    ];
    for (acr, amr, proven, raised, merged) in table {
        assert_eq!(
            elevate(acr, &s(amr), s(proven)),
            Elevation {
                acr: *raised,
                amr: s(merged)
            },
            "{acr} {amr:?} + {proven:?}"
        );
    }
}

#[test]
fn the_account_level_counts_kinds_of_factor() {
    use crate::factor::FactorKind::{Gesture, Image};
    assert_eq!(account_level(&[]), Assurance::Aal1);
    assert_eq!(account_level(&[Gesture]), Assurance::Aal1);
    assert_eq!(account_level(&[Gesture, Image]), Assurance::Aal2);
    assert_eq!(account_level(&[Image]), Assurance::Aal2);
    assert_eq!(account_level(&[Totp]), Assurance::Aal2);
    assert_eq!(account_level(&[RecoveryCode]), Assurance::Aal2);
}

#[test]
fn password_and_gesture_is_not_aal2_but_password_and_image_is() {
    use crate::factor::FactorKind::{Gesture, Image};
    let session = vec!["pwd".to_owned()];
    assert_eq!(
        elevate("aal1", &session, vec!["kba".into()]).acr,
        Assurance::Aal1
    );
    assert_eq!(
        elevate("aal1", &session, vec!["swk".into()]).acr,
        Assurance::Aal2
    );
    let plan = login_plan(1, vec![Image, Gesture]);
    assert_eq!(plan.available, vec![Password, Image, Gesture]);
    assert_eq!(plan.required, 2);
}
