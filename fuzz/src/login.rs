//! `login_challenge`: the JSON bodies of `POST /v1/sessions` and
//! `POST /v1/sessions/challenges/{id}` (also the step-up answer), read as the routes read
//! them (axum's `Json::from_bytes`, which `ApiJson` wraps), and the pure checks an accepted
//! body goes through before any database is asked: the login request's shape
//! (`LoginRequest::start`), the e-mail parser, and the parsers of every kind of code. The
//! same bytes also go through the challenge id parser (the path segment) and the `factor`
//! of `…/send`.
//!
//! Asserted, whatever the bytes: nothing panics; an accepted login request starts the login
//! its fields ask for (a passkey login has neither e-mail nor password, an e-mail login
//! carries them as sent); an accepted e-mail is lower case, at most 254 bytes with one `@`
//! and parses again to itself; an accepted answer names the factor of its `factor` tag; a
//! code any parser accepts has its documented shape and parses again to itself; a TOTP code
//! is accepted only within a step of now and never twice; a passkey assertion re-serializes
//! to JSON that reads back the same.

use axum::Json;
use portcullis_core::contact::Email;
use portcullis_core::factor::otp::OtpCode;
use portcullis_core::factor::pattern::{Pattern, PatternGrid, read_dots};
use portcullis_core::factor::recovery::{CODE_LEN, RecoveryCode};
use portcullis_core::factor::totp::{TotpError, TotpSecret};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::FactorKind;
use portcullis_server::fuzzing::{Answer, ChallengeAnswer, LoginRequest, LoginStart};
use serde_json::Value;

/// The fixed "now" of the TOTP check, unix seconds.
const NOW: i64 = 1_800_000_000;
/// The TOTP secret codes are checked against (RFC 6238's SHA-1 seed).
const TOTP_SEED: &[u8] = b"12345678901234567890";

/// Feeds `data` to every parser of this target.
pub fn check(data: &[u8]) {
    let value: Option<Value> = serde_json::from_slice(data).ok();
    check_login_request(data, value.as_ref());
    check_answer(data, value.as_ref());
    check_factor_kind(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_challenge_id(text);
        check_email(text);
    }
}

/// `POST /v1/sessions`.
fn check_login_request(data: &[u8], value: Option<&Value>) {
    let Ok(Json(request)) = Json::<LoginRequest>::from_bytes(data) else {
        return;
    };
    let value = value.expect("axum accepted a body serde_json cannot read");
    let start = request.start();
    // The object form names its fields; serde also takes a struct as an array.
    if let Some(fields) = value.as_object() {
        let text = |k: &str| fields.get(k).and_then(Value::as_str);
        let passkey = fields.get("passkey").and_then(Value::as_bool) == Some(true);
        let (email, password) = (text("email"), text("password"));
        match &start {
            Ok(LoginStart::Passkey) => assert!(passkey && email.is_none() && password.is_none()),
            Ok(LoginStart::Email {
                email: sent,
                password: pw,
            }) => {
                assert!(!passkey, "a passkey request started an e-mail login");
                assert_eq!(Some(sent.as_str()), email);
                assert_eq!(pw.as_ref().map(|p| p.expose()), password);
            }
            Err(_) => assert!(
                passkey || email.is_none(),
                "a well-formed request was refused"
            ),
        }
    }
    if let Ok(LoginStart::Email { email, .. }) = start {
        check_email(&email);
    }
}

/// `Email::parse`, which the login service runs first on the sent e-mail.
fn check_email(text: &str) {
    let Ok(email) = Email::parse(text) else {
        return;
    };
    let address = email.as_str();
    assert!(address.len() <= 254, "{address:?} is too long");
    assert_eq!(address.matches('@').count(), 1, "{address:?}");
    assert!(!email.local_part().is_empty() && email.local_part().len() <= 64);
    assert!(!address.chars().any(|c| c.is_whitespace() || c.is_control()));
    let again = Email::parse(address).expect("a parsed e-mail must parse again");
    assert_eq!(
        again.as_str(),
        address,
        "parsing an e-mail twice changed it"
    );
}

/// `POST /v1/sessions/challenges/{id}` and the step-up answer.
fn check_answer(data: &[u8], value: Option<&Value>) {
    let Ok(Json(body)) = Json::<ChallengeAnswer>::from_bytes(data) else {
        return;
    };
    let value = value.expect("axum accepted a body serde_json cannot read");
    let answer = Answer::from(body);
    if let Some(tag) = value.get("factor").and_then(Value::as_str) {
        let named = serde_json::to_value(answer.factor()).expect("a factor serializes");
        assert_eq!(
            named.as_str(),
            Some(tag),
            "the answer's factor is not its tag"
        );
    }
    match answer {
        Answer::Password(password) => {
            if let Some(sent) = value.get("password").and_then(Value::as_str) {
                assert_eq!(password.expose(), sent);
            }
        }
        Answer::Totp(code) => check_totp(&code),
        Answer::RecoveryCode(code) => check_recovery_code(&code),
        Answer::Sms(code) | Answer::EmailOtp(code) => check_otp(&code),
        Answer::PatternOtp(dots) => check_pattern(&dots),
        Answer::Passkey(credential) => {
            let text = serde_json::to_string(&credential).expect("an assertion serializes");
            let back: webauthn_rs_proto::PublicKeyCredential =
                serde_json::from_str(&text).expect("a serialized assertion reads back");
            let again = serde_json::to_string(&back).expect("an assertion serializes");
            assert_eq!(text, again, "an assertion changed on its way through JSON");
        }
        Answer::Wallet(wallet) => {
            // The signatures are parsed only when a ceremony waits: any text, no panic.
            let _ = wallet
                .signature
                .parse::<portcullis_core::eth::WalletSignature>();
            let _ = wallet
                .delegation_signature
                .parse::<portcullis_core::eth::WalletSignature>();
        }
        Answer::Image(bytes) => {
            // A login only digests: any bytes, no panic.
            let _ = portcullis_core::factor::image::digest(&bytes);
        }
        Answer::Gesture(gesture) => {
            if let Ok(parsed) = portcullis_core::factor::gesture::Gesture::parse(&gesture) {
                let again = portcullis_core::factor::gesture::Gesture::parse(parsed.canonical())
                    .expect("a canonical gesture parses again");
                assert_eq!(again.canonical(), parsed.canonical());
            }
        }
    }
}

fn check_totp(code: &str) {
    let secret = TotpSecret::from_bytes(TOTP_SEED.to_vec()).expect("the RFC seed is a secret");
    let Ok(step) = secret.verify(code, NOW, None) else {
        return;
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        (step - NOW / 30).abs() <= 1,
        "step {step} is not within a step of now"
    );
    let expected = secret.code_at(step * 30).expect("the seed makes codes");
    assert_eq!(digits, expected, "accepted a code of no step near now");
    assert!(
        matches!(
            secret.verify(code, NOW, Some(step)),
            Err(TotpError::Replayed)
        ),
        "a code was accepted twice"
    );
}

fn check_recovery_code(code: &str) {
    let Some(parsed) = RecoveryCode::parse(code) else {
        return;
    };
    let normalised = parsed.normalised();
    assert_eq!(normalised.len(), CODE_LEN);
    assert!(
        normalised
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    );
    for typed in [normalised.to_owned(), parsed.display()] {
        let again = RecoveryCode::parse(&typed).expect("a parsed recovery code parses again");
        assert_eq!(again.normalised(), normalised);
    }
}

/// A drawn pattern the default grid accepts reads back from its canonical text as itself.
fn check_pattern(dots: &[u32]) {
    let Some(pattern) = Pattern::from_dots(PatternGrid::default(), dots) else {
        return;
    };
    let text = pattern.canonical();
    assert_eq!(read_dots(&text).as_deref(), Some(dots), "{dots:?}");
}

fn check_otp(code: &str) {
    let Some(parsed) = OtpCode::parse(code) else {
        return;
    };
    let digits = parsed.expose();
    assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
    let again = OtpCode::parse(digits).expect("a parsed code parses again");
    assert_eq!(again.expose(), digits);
}

/// The `factor` of `POST /v1/sessions/challenges/{id}/send`.
fn check_factor_kind(data: &[u8]) {
    let Ok(kind) = serde_json::from_slice::<FactorKind>(data) else {
        return;
    };
    let text = serde_json::to_string(&kind).expect("a factor serializes");
    let back: FactorKind = serde_json::from_str(&text).expect("a factor reads back");
    assert_eq!(back, kind);
    assert_eq!(kind.to_string().parse::<FactorKind>().ok(), Some(kind));
}

/// The `{id}` of the challenge routes.
fn check_challenge_id(text: &str) {
    let Ok(id) = text.parse::<ChallengeId>() else {
        return;
    };
    assert_eq!(id.to_string().parse::<ChallengeId>().ok(), Some(id));
}
