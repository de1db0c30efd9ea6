//! Pattern OTP end to end, on SQLite and PostgreSQL: enrolled by e-mail through the real SMTP
//! receiver (and by text through the development SMS transport), confirmed and answered with
//! the dots read from the message, and refused when reused, expired, drawn in another order,
//! replaced by a newer send or after its five attempts; a scan of the database after a send
//! finds the pattern nowhere in clear.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, Row as _};
use support::{Backend, TestApp, strong_password, unique_email};

const SUBJECT: &str = "Your Portcullis pattern";

/// The dots after "pattern: " in a message (`3-7-12-1-5-9`).
fn pattern_in(text: &str) -> Vec<u32> {
    let start = text
        .find("pattern: ")
        .unwrap_or_else(|| panic!("no pattern in {text:?}"))
        + "pattern: ".len();
    text[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .next()
        .unwrap()
        .split('-')
        .map(|d| d.parse().unwrap())
        .collect()
}

/// Waits for the pattern mail to `email` after the `before` mails it had, and reads it.
async fn next_pattern(email: &str, before: usize) -> Vec<u32> {
    let mail = support::wait_for_mail(email, |_| {
        support::mails_to(email)
            .iter()
            .filter(|m| m.subject == SUBJECT)
            .count()
            > before
    })
    .await;
    let _ = mail;
    let latest = support::mails_to(email)
        .into_iter()
        .filter(|m| m.subject == SUBJECT)
        .nth(before)
        .unwrap();
    pattern_in(&latest.body)
}

fn patterns_sent(email: &str) -> usize {
    support::mails_to(email)
        .iter()
        .filter(|m| m.subject == SUBJECT)
        .count()
}

/// A server whose other bounds stay out of the way: no back-off, a roomy challenge bound and
/// send bounds, so each test meets the pattern's own bounds.
async fn app(backend: Backend, ttl_secs: u64) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .configure(move |c| {
            c.login.free_failures = 100;
            c.login.challenge.max_failures = 20;
            c.mfa.otp_max_sends = 50;
            c.mfa.otp_ttl = std::time::Duration::from_secs(ttl_secs);
            c.mail.recipient_max_sends = 50;
            c.rate_limit.auth_per_ip_per_minute = 10_000;
            c.rate_limit.per_account_per_minute = 10_000;
        })
        .spawn()
        .await
}

/// Registers an account and enrols a pattern OTP by e-mail; returns (email, password,
/// access token of the enrolling session, factor id).
async fn enrolled(app: &TestApp) -> (String, String, String, String) {
    let email = unique_email("pattern");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;
    let f = app
        .post(
            "/v1/me/factors/pattern",
            Some(&t.access),
            &json!({ "channel": "email" }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(
        (f["kind"].clone(), f["confirmed"].clone()),
        (json!("pattern_otp"), json!(false))
    );
    let fid = f["id"].as_str().unwrap().to_owned();
    let first = next_pattern(&email, 0).await;
    assert_eq!(first.len(), 6, "{first:?}");
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "pattern": first }),
    )
    .await
    .expect(200);
    (email, password, t.access, fid)
}

/// The password answered: a challenge waiting for the pattern, and a pattern sent for it.
async fn challenge_with_pattern(app: &TestApp, email: &str, password: &str) -> (String, Vec<u32>) {
    let pending = app.try_login(email, password).await.expect(202).json();
    assert_eq!(pending["factors"], json!(["pattern_otp"]), "{pending}");
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let before = patterns_sent(email);
    let sent = app
        .post(
            &format!("/v1/sessions/challenges/{id}/send"),
            None,
            &json!({ "factor": "pattern_otp" }),
        )
        .await
        .expect(202)
        .json();
    assert!(sent["expires_in"].as_i64().unwrap() > 0, "{sent}");
    (id, next_pattern(email, before).await)
}

async fn answer(app: &TestApp, id: &str, pattern: &[u32]) -> support::Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({ "factor": "pattern_otp", "pattern": pattern }),
    )
    .await
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn signs_in_once_in_order_and_steps_up(backend: Backend) {
    let app = app(backend, 300).await;
    let (email, password, access, fid) = enrolled(&app).await;
    let listed = app
        .get("/v1/me/factors", Some(&access))
        .await
        .expect(200)
        .json();
    assert!(
        listed["factors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == fid.as_str()
                && f["kind"] == "pattern_otp"
                && f["confirmed"] == true),
        "{listed}"
    );

    let (id, pattern) = challenge_with_pattern(&app, &email, &password).await;
    // The same dots in another order are another pattern.
    let mut swapped = pattern.clone();
    swapped.swap(0, 1);
    answer(&app, &id, &swapped).await.problem(401, None);
    let mut reversed = pattern.clone();
    reversed.reverse();
    answer(&app, &id, &reversed).await.problem(401, None);
    // Malformed drawings count as wrong ones, never as a server error.
    answer(&app, &id, &[1, 1, 2, 3, 4, 5])
        .await
        .problem(401, None);
    answer(&app, &id, &pattern[..5]).await.problem(401, None);
    let done = answer(&app, &id, &pattern).await.expect(201).json();
    let c = claims(done["access_token"].as_str().unwrap());
    assert_eq!(
        (c["acr"].clone(), c["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp"]))
    );

    // Reused: the spent pattern does not answer the next login.
    let again = app.try_login(&email, &password).await.expect(202).json();
    let id2 = again["challenge_id"].as_str().unwrap();
    answer(&app, id2, &pattern).await.problem(401, None);

    // A step-up of the new session with a fresh pattern.
    let session = done["access_token"].as_str().unwrap();
    let step = app
        .post("/v1/sessions/current/step-up", Some(session), &json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["pattern_otp"]), "{step}");
    let sid = step["challenge_id"].as_str().unwrap();
    let before = patterns_sent(&email);
    app.post(
        &format!("/v1/sessions/current/step-up/{sid}/send"),
        Some(session),
        &json!({ "factor": "pattern_otp" }),
    )
    .await
    .expect(202);
    let fresh = next_pattern(&email, before).await;
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{sid}"),
            Some(session),
            &json!({ "factor": "pattern_otp", "pattern": fresh }),
        )
        .await
        .expect(200)
        .json();
    let raised = stepped["access_token"].as_str().unwrap();
    assert_eq!(claims(raised)["acr"], "aal2");

    // Removable like the others, by a session that has just proven a factor.
    app.delete(&format!("/v1/me/factors/{fid}"), Some(raised), None)
        .await
        .expect(204);
    app.login(&email, &password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_signs_in_once_only_in_its_order_and_steps_up_on_sqlite() {
    signs_in_once_in_order_and_steps_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_signs_in_once_only_in_its_order_and_steps_up_on_postgres() {
    signs_in_once_in_order_and_steps_up(Backend::Postgres).await;
}

async fn five_wrong_attempts_spend_it(backend: Backend) {
    let app = app(backend, 300).await;
    let (email, password, _, _) = enrolled(&app).await;
    let (id, pattern) = challenge_with_pattern(&app, &email, &password).await;
    let mut wrong = pattern.clone();
    wrong.rotate_left(1);
    for _ in 0..5 {
        answer(&app, &id, &wrong).await.problem(401, None);
    }
    // The sixth is refused even though it is right: the pattern's attempts are spent.
    answer(&app, &id, &pattern).await.problem(401, None);
    // A new pattern for the same challenge works.
    let before = patterns_sent(&email);
    app.post(
        &format!("/v1/sessions/challenges/{id}/send"),
        None,
        &json!({ "factor": "pattern_otp" }),
    )
    .await
    .expect(202);
    let fresh = next_pattern(&email, before).await;
    answer(&app, &id, &fresh).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_attempts_spend_a_pattern_on_sqlite() {
    five_wrong_attempts_spend_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_attempts_spend_a_pattern_on_postgres() {
    five_wrong_attempts_spend_it(Backend::Postgres).await;
}

async fn a_new_send_ends_the_old_and_patterns_expire(backend: Backend) {
    let app = app(backend, 3).await;
    let (email, password, _, _) = enrolled(&app).await;
    let (id, old) = challenge_with_pattern(&app, &email, &password).await;
    let before = patterns_sent(&email);
    app.post(
        &format!("/v1/sessions/challenges/{id}/send"),
        None,
        &json!({ "factor": "pattern_otp" }),
    )
    .await
    .expect(202);
    let new = next_pattern(&email, before).await;
    if old != new {
        answer(&app, &id, &old).await.problem(401, None);
    }
    answer(&app, &id, &new).await.expect(201);

    // Expired: the right pattern, drawn after its 3 seconds.
    let (id, pattern) = challenge_with_pattern(&app, &email, &password).await;
    tokio::time::sleep(std::time::Duration::from_millis(4_100)).await;
    answer(&app, &id, &pattern).await.problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_send_ends_the_old_pattern_and_patterns_expire_on_sqlite() {
    a_new_send_ends_the_old_and_patterns_expire(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_send_ends_the_old_pattern_and_patterns_expire_on_postgres() {
    a_new_send_ends_the_old_and_patterns_expire(Backend::Postgres).await;
}

/// Sent codes and patterns of one challenge are apart: sending a pattern does not end an
/// e-mail code, and a code never answers for a pattern.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_problems_and_sms_patterns_prove_the_phone() {
    let app = app(Backend::Sqlite, 300).await;
    let email = unique_email("pattern-sms");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;
    for body in [
        json!({ "channel": "sms" }),
        json!({ "channel": "sms", "phone": "555" }),
    ] {
        app.post("/v1/me/factors/pattern", Some(&t.access), &body)
            .await
            .problem(400, Some("invalid-phone"));
    }
    app.post(
        "/v1/me/factors/pattern",
        Some(&t.access),
        &json!({ "channel": "fax" }),
    )
    .await
    .problem(400, None);
    let f = app
        .post(
            "/v1/me/factors/pattern",
            Some(&t.access),
            &json!({ "channel": "sms", "phone": "+1 415 555 0142", "label": "Work phone" }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(f["label"], "Work phone");
    let fid = f["id"].as_str().unwrap();
    let text = support::factors::texts(&app).pop().expect("a text");
    assert!(text.contains("1-16") && text.contains("4x4"), "{text}");
    let pattern = pattern_in(&text);
    // Neither or both of code and pattern: refused before any check.
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({}),
    )
    .await
    .problem(400, Some("invalid-code"));
    let mut wrong = pattern.clone();
    wrong.swap(2, 3);
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "pattern": wrong }),
    )
    .await
    .problem(400, Some("invalid-code"));
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "pattern": pattern }),
    )
    .await
    .expect(200);
    // Logging in texts the pattern to the number.
    let pending = app.try_login(&email, &password).await.expect(202).json();
    let id = pending["challenge_id"].as_str().unwrap();
    app.post(
        &format!("/v1/sessions/challenges/{id}/send"),
        None,
        &json!({ "factor": "pattern_otp" }),
    )
    .await
    .expect(202);
    let texts = support::factors::texts(&app);
    let login_pattern = pattern_in(texts.last().unwrap());
    answer(&app, id, &login_pattern).await.expect(201);
}

/// Every text of every row, for the scan.
async fn postgres_rows(app: &TestApp) -> Vec<String> {
    let url = app.server().state.config().database_url.clone().unwrap();
    let mut db = sqlx::PgConnection::connect(url.expose_secret())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("t"))
    .collect();
    assert!(tables.iter().any(|t| t == "otp_codes"), "{tables:?}");
    let mut rows = Vec::new();
    for table in tables {
        let found = sqlx::query(AssertSqlSafe(format!(
            "SELECT t::text AS row FROM \"{table}\" t"
        )))
        .fetch_all(&mut db)
        .await
        .unwrap();
        rows.extend(found.iter().map(|r| r.get::<String, _>("row")));
    }
    rows
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn pending_pattern_is_nowhere_in_clear(backend: Backend) {
    let mut app = app(backend, 300).await;
    let (email, password, _, _) = enrolled(&app).await;
    let (_id, pattern) = challenge_with_pattern(&app, &email, &password).await;
    let dashed = pattern
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("-");
    let spaced = pattern
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" - ");
    let raw: Vec<u8> = pattern.iter().map(|d| u8::try_from(*d).unwrap()).collect();
    let needles: Vec<Vec<u8>> = vec![
        dashed.clone().into_bytes(),
        spaced.into_bytes(),
        hex::encode(dashed.as_bytes()).into_bytes(),
        raw,
    ];
    match backend {
        Backend::Postgres => {
            let rows = postgres_rows(&app).await;
            assert!(rows.len() > 5, "{} rows", rows.len());
            for row in rows {
                for needle in &needles {
                    assert!(
                        !contains(row.as_bytes(), needle),
                        "pattern {dashed} in {row}"
                    );
                }
            }
        }
        Backend::Sqlite => {
            app.stop().await;
            let mut scanned = 0;
            for entry in std::fs::read_dir(app.data_dir()).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !name.contains(".db") && !name.contains("sqlite") {
                    continue;
                }
                // A ledger's write-ahead log may be removed as its pool closes after the stop.
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                scanned += bytes.len();
                for needle in &needles {
                    assert!(!contains(&bytes, needle), "pattern {dashed} in {name}");
                }
            }
            assert!(
                scanned > 10_000,
                "scanned only {scanned} bytes of database files"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_pattern_is_nowhere_in_clear_in_the_sqlite_files() {
    pending_pattern_is_nowhere_in_clear(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_pattern_is_nowhere_in_clear_in_the_postgres_rows() {
    pending_pattern_is_nowhere_in_clear(Backend::Postgres).await;
}
