//! End-to-end: the bound on attempts holds under concurrency, on both backends. Many wrong
//! answers sent at once to one login or step-up challenge are checked at most
//! `max_failures` times in all (each check takes an attempt in the store first); the others
//! are refused unchecked as `challenge-exhausted`, and so is the right answer afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::factor::totp::{STEP_SECS, TotpSecret};
use serde_json::{Value, json};
use std::sync::Arc;
use support::factors::{enrol_totp, unix_now};
use support::{Backend, Reply, TestApp, strong_password, unique_email};

/// Answers sent at once; the bound is `MAX_FAILURES`.
const RACERS: usize = 12;
const MAX_FAILURES: u32 = 5;

async fn app(backend: Backend) -> Arc<TestApp> {
    let app = TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| {
            c.rate_limit.auth_per_ip_per_minute = 10_000;
            c.rate_limit.per_account_per_minute = 10_000;
            // No back-off: only the challenge's own bound is under test.
            c.login.free_failures = 1_000;
            c.login.challenge.max_failures = MAX_FAILURES;
        })
        .spawn()
        .await;
    Arc::new(app)
}

/// An account with a confirmed authenticator app: its e-mail, password, secret, and the
/// password-only session in which the app was enrolled.
struct Enrolled {
    email: String,
    password: String,
    secret: TotpSecret,
    access: String,
}

async fn enrolled(app: &TestApp, tag: &str) -> Enrolled {
    let (email, password) = (unique_email(tag), strong_password());
    app.register_active(&email, &password).await;
    let access = app.login(&email, &password).await.access;
    let (_, secret) = enrol_totp(app, &access).await;
    Enrolled {
        email,
        password,
        secret,
        access,
    }
}

/// A code no step near now accepts.
fn wrong_code(secret: &TotpSecret, i: usize) -> String {
    let now = unix_now();
    let near: Vec<String> = (-2..=2)
        .map(|k| secret.code_at(now + k * STEP_SECS).unwrap())
        .collect();
    (0..)
        .map(|n: usize| format!("{:06}", (i * 7919 + n * 104_729) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// The right code for an answer after the enrolment spent the current step: the next
/// step's, within the one-step drift the server allows.
fn right_code(secret: &TotpSecret) -> String {
    secret.code_at(unix_now() + STEP_SECS).unwrap()
}

/// Sends `RACERS` wrong TOTP answers to `path` at once.
async fn race_wrong_codes(
    app: &Arc<TestApp>,
    path: &str,
    access: Option<&str>,
    secret: &TotpSecret,
) -> Vec<Reply> {
    let bodies: Vec<Value> = (0..RACERS)
        .map(|i| json!({ "factor": "totp", "code": wrong_code(secret, i) }))
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (app, path, barrier) = (app.clone(), path.to_owned(), barrier.clone());
            let access = access.map(str::to_owned);
            tokio::spawn(async move {
                barrier.wait().await;
                app.post(&path, access.as_deref(), &body).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for h in handles {
        replies.push(h.await.expect("answer task"));
    }
    replies
}

/// Exactly `MAX_FAILURES` answers were checked (refused as invalid), every other one was
/// refused unchecked, and the audit log holds one failure per checked answer.
async fn at_most_the_bound_was_checked(app: &TestApp, replies: &[Reply], challenge: &str) {
    let status = |code: u16| replies.iter().filter(|r| r.status.as_u16() == code).count();
    let checked = status(401);
    let refused = status(410);
    assert_eq!(
        (checked, refused),
        (MAX_FAILURES as usize, RACERS - MAX_FAILURES as usize),
        "{replies:#?}"
    );
    for r in replies.iter().filter(|r| r.status.as_u16() == 410) {
        r.problem(410, Some("challenge-exhausted"));
    }
    let audit = &app.server().state.ledgers().audit;
    let mut failures = 0;
    let mut after = 0;
    loop {
        let page = audit.page(after, 1000).await.expect("audit page");
        let Some(last) = page.last() else { break };
        after = last.seq;
        failures += page
            .iter()
            .filter(|r| r.event.event == "login.failed")
            .filter(|r| r.event.subject.as_deref() == Some(challenge))
            .count();
    }
    assert_eq!(failures, MAX_FAILURES as usize, "verifications recorded");
}

async fn concurrent_wrong_totp_codes_on_a_login(backend: Backend) {
    let app = app(backend).await;
    let who = enrolled(&app, "race-login").await;
    let pending = app.try_login(&who.email, &who.password).await;
    let pending = pending.expect(202).json();
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/sessions/challenges/{id}");

    let replies = race_wrong_codes(&app, &path, None, &who.secret).await;
    at_most_the_bound_was_checked(&app, &replies, &id).await;

    // The right code is not checked either now.
    let code = right_code(&who.secret);
    let body = json!({ "factor": "totp", "code": code });
    app.post(&path, None, &body)
        .await
        .problem(410, Some("challenge-exhausted"));
    // It was the right code: a fresh challenge takes it.
    let pending = app.try_login(&who.email, &who.password).await;
    let id = pending.expect(202).json()["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/v1/sessions/challenges/{id}"), None, &body)
        .await
        .expect(201);
}

async fn concurrent_wrong_totp_codes_on_a_step_up(backend: Backend) {
    let app = app(backend).await;
    let who = enrolled(&app, "race-step-up").await;
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&who.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    let id = step["challenge_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/sessions/current/step-up/{id}");

    let replies = race_wrong_codes(&app, &path, Some(&who.access), &who.secret).await;
    at_most_the_bound_was_checked(&app, &replies, &id).await;

    let code = right_code(&who.secret);
    let body = json!({ "factor": "totp", "code": code });
    app.post(&path, Some(&who.access), &body)
        .await
        .problem(410, Some("challenge-exhausted"));
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&who.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    let id = step["challenge_id"].as_str().unwrap();
    app.post(
        &format!("/v1/sessions/current/step-up/{id}"),
        Some(&who.access),
        &body,
    )
    .await
    .expect(200);
}

/// A right answer gives its attempt back: a login that needs the password and a code keeps
/// every attempt of its bound for the code.
async fn a_verified_answer_costs_no_attempt(backend: Backend) {
    let app = app(backend).await;
    let who = enrolled(&app, "race-release").await;
    // The password too is an answer to the stored challenge.
    let pending = app
        .post("/v1/sessions", None, &json!({ "email": who.email }))
        .await;
    let id = pending.expect(202).json()["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/sessions/challenges/{id}");
    let password = json!({ "factor": "password", "password": who.password });
    let more = app.post(&path, None, &password).await.expect(202).json();
    assert_eq!(more["factors"], json!(["totp"]), "{more}");
    // The password took an attempt and gave it back; four wrong codes leave the fifth.
    for i in 1..MAX_FAILURES {
        let body = json!({ "factor": "totp", "code": wrong_code(&who.secret, i as usize) });
        app.post(&path, None, &body)
            .await
            .problem(401, Some("invalid-credentials"));
    }
    let body = json!({ "factor": "totp", "code": right_code(&who.secret) });
    app.post(&path, None, &body).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_totp_codes_on_a_login_on_sqlite() {
    concurrent_wrong_totp_codes_on_a_login(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_totp_codes_on_a_login_on_postgres() {
    concurrent_wrong_totp_codes_on_a_login(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_totp_codes_on_a_step_up_on_sqlite() {
    concurrent_wrong_totp_codes_on_a_step_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_totp_codes_on_a_step_up_on_postgres() {
    concurrent_wrong_totp_codes_on_a_step_up(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_answer_costs_no_attempt_on_sqlite() {
    a_verified_answer_costs_no_attempt(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_answer_costs_no_attempt_on_postgres() {
    a_verified_answer_costs_no_attempt(Backend::Postgres).await;
}
