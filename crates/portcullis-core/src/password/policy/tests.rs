//! Unit tests of the password type and the policy.

use super::*;

fn pw(s: &str) -> Password {
    Password::new(s.to_owned())
}

const STRONG: &str = "correct horse battery staple under violet rain";

#[test]
fn policy_defaults() {
    let policy = PasswordPolicy::default();
    assert_eq!(
        (policy.min_len, policy.max_len, policy.min_score),
        (8, 128, 3)
    );
    let parsed: PasswordPolicy = serde_json::from_str(r#"{"min_len": 12}"#).unwrap();
    assert_eq!(
        parsed,
        PasswordPolicy {
            min_len: 12,
            ..PasswordPolicy::default()
        }
    );
    assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_lenght": 12}"#).is_err());
}

#[test]
fn policy_rejects_short() {
    let err = PasswordPolicy::default()
        .check(&pw("Xk9#q"), None, &[])
        .unwrap_err();
    assert_eq!(err, PasswordRejection::TooShort { min: 8 });
    assert_eq!(err.code(), "too_short");
    assert_eq!(
        err.to_string(),
        "password is too short: use at least 8 characters"
    );
}

#[test]
fn policy_rejects_long() {
    let long = "Zq8!".repeat(32) + "x";
    assert_eq!(long.chars().count(), 129);
    let err = PasswordPolicy::default()
        .check(&pw(&long), None, &[])
        .unwrap_err();
    assert_eq!(err, PasswordRejection::TooLong { max: 128 });
    assert_eq!(err.code(), "too_long");
    assert_eq!(
        err.to_string(),
        "password is too long: use at most 128 characters"
    );
}

#[test]
fn policy_accepts_exactly_max_len() {
    let policy = PasswordPolicy {
        min_score: 0,
        ..PasswordPolicy::default()
    };
    assert_eq!(policy.check(&pw(&"a".repeat(128)), None, &[]), Ok(()));
}

#[test]
fn length_counts_characters_not_bytes() {
    let policy = PasswordPolicy {
        min_score: 0,
        ..PasswordPolicy::default()
    };
    // 7 characters, 14 bytes: too short although it has more than 8 bytes.
    let seven = "ÿéüöäßñ";
    assert_eq!(seven.len(), 14);
    assert_eq!(
        policy.check(&pw(seven), None, &[]),
        Err(PasswordRejection::TooShort { min: 8 })
    );
    // 128 characters, 384 bytes: still within the maximum.
    let wide = "€".repeat(128);
    assert_eq!(policy.check(&pw(&wide), None, &[]), Ok(()));
    assert_eq!(
        policy.check(&pw(&"€".repeat(129)), None, &[]),
        Err(PasswordRejection::TooLong { max: 128 })
    );
}

#[test]
fn policy_rejects_email_local_part_case_insensitively() {
    let email = Email::parse("Marguerite@example.com").unwrap();
    let err = PasswordPolicy::default()
        .check(&pw("xx-MARGUERITE-violet-rain-1987"), Some(&email), &[])
        .unwrap_err();
    assert_eq!(err, PasswordRejection::ContainsEmail);
    assert_eq!(err.code(), "contains_email");
    assert_eq!(
        err.to_string(),
        "password must not contain your e-mail address"
    );
}

#[test]
fn short_local_part_is_not_refused() {
    let email = Email::parse("al@example.com").unwrap();
    let password = format!("{STRONG} al");
    assert_eq!(
        PasswordPolicy::default().check(&pw(&password), Some(&email), &[]),
        Ok(())
    );
}

#[test]
fn policy_rejects_weak_password() {
    let err = PasswordPolicy::default()
        .check(&pw("password1"), None, &[])
        .unwrap_err();
    let PasswordRejection::TooWeak {
        score,
        warning,
        suggestions,
    } = &err
    else {
        unreachable!("expected TooWeak, got {err:?}");
    };
    assert!(*score < 3);
    assert!(warning.is_some());
    assert!(!suggestions.is_empty());
    assert_eq!(err.code(), "too_weak");
    let message = err.to_string();
    assert!(
        message.starts_with("password is too easy to guess (strength "),
        "{message}"
    );
    assert!(message.contains(warning.as_deref().unwrap()), "{message}");
    for suggestion in suggestions {
        assert!(message.contains(suggestion.as_str()), "{message}");
    }
}

#[test]
fn weak_message_without_feedback() {
    let err = PasswordRejection::TooWeak {
        score: 2,
        warning: None,
        suggestions: vec![],
    };
    assert_eq!(
        err.to_string(),
        "password is too easy to guess (strength 2 of 4)"
    );
    let err = PasswordRejection::TooWeak {
        score: 1,
        warning: Some("This is similar to a commonly used password.".into()),
        suggestions: vec!["Add another word or two.".into()],
    };
    assert_eq!(
        err.to_string(),
        "password is too easy to guess (strength 1 of 4): \
         This is similar to a commonly used password. Add another word or two."
    );
}

#[test]
fn user_inputs_lower_the_score() {
    let policy = PasswordPolicy::default();
    let password = pw("Wolfgangschmidtberger");
    assert_eq!(policy.check(&password, None, &[]), Ok(()));
    let err = policy
        .check(&password, None, &["Wolfgang", "Schmidtberger"])
        .unwrap_err();
    assert_eq!(err.code(), "too_weak");
}

#[test]
fn email_domain_is_a_user_input() {
    let policy = PasswordPolicy::default();
    let email = Email::parse("jo@quixotrambulant.example").unwrap();
    let password = pw("quixotrambulant2024");
    assert_eq!(policy.check(&password, None, &[]), Ok(()));
    assert_eq!(
        policy
            .check(&password, Some(&email), &[])
            .unwrap_err()
            .code(),
        "too_weak"
    );
}

#[test]
fn strong_passphrase_passes() {
    let email = Email::parse("alice@example.com").unwrap();
    assert_eq!(
        PasswordPolicy::default().check(&pw(STRONG), Some(&email), &["Alice", "Portcullis"]),
        Ok(())
    );
}

#[test]
fn password_debug_is_redacted() {
    let password = pw("hunter2-very-secret");
    let shown = format!("{password:?} {password:#?}");
    assert!(!shown.contains("hunter2"));
    assert!(shown.starts_with("Password(<redacted>)"));
    assert_eq!(password.expose(), "hunter2-very-secret");
}
