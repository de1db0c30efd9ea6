//! Second factors from a test's side: an authenticator app computed here (core's TOTP, not
//! the server's state), the development SMS transport's texts, and the step-up that answers
//! an RFC 9470 challenge.

use portcullis_core::factor::totp::{STEP_SECS, TotpSecret};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

use super::TestApp;

/// Unix seconds now.
pub fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// RFC 4648 base32 (upper case, padding optional), as the enrolment shows the secret.
pub fn base32_decode(text: &str) -> Vec<u8> {
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text:?}"),
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(buffer >> bits).unwrap());
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// Enrols and confirms an authenticator app for the session of `access` (spending the
/// current time step); returns its id and secret.
pub async fn enrol_totp(app: &TestApp, access: &str) -> (String, TotpSecret) {
    let enrol = app
        .post("/v1/me/factors/totp", Some(access), &json!({}))
        .await
        .expect(201)
        .json();
    let secret = TotpSecret::from_bytes(base32_decode(enrol["secret"].as_str().unwrap())).unwrap();
    let id = enrol["id"].as_str().unwrap().to_owned();
    let code = secret.code_at(unix_now()).unwrap();
    app.post(
        &format!("/v1/me/factors/{id}/confirm"),
        Some(access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);
    (id, secret)
}

/// Steps the session of `access` up with the authenticator's next time step (the current one
/// was spent confirming it); returns the raised access token.
pub async fn step_up_with_totp(app: &TestApp, access: &str, secret: &TotpSecret) -> String {
    let step = app
        .post("/v1/sessions/current/step-up", Some(access), &json!({}))
        .await
        .expect(202)
        .json();
    let id = step["challenge_id"].as_str().unwrap();
    let code = secret.code_at(unix_now() + STEP_SECS).unwrap();
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{id}"),
            Some(access),
            &json!({ "factor": "totp", "code": code }),
        )
        .await
        .expect(200)
        .json();
    stepped["access_token"].as_str().unwrap().to_owned()
}

/// The texts the development SMS transport wrote (`data_dir/sms/*.txt`), oldest first.
pub fn texts(app: &TestApp) -> Vec<String> {
    let dir = app.data_dir().join("sms");
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The six-digit code in a message.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}
