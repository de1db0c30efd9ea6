//! Generated attacks on the whole API: Schemathesis (PyPI `schemathesis`, run from the test
//! venv) reads `/openapi.json` of a real server and sends what it generates from it, as a
//! user and as an administrator: the documented examples, boundary and wrong-type values of
//! every field, missing bodies, headers and credentials (its coverage phase), random valid and
//! invalid requests (fuzzing), and chains that follow the document's links (stateful). Every
//! answer must be
//!
//! - no server error (`not_a_server_error`),
//! - a documented status (`status_code_conformance`) with a documented media type
//!   (`content_type_conformance`) and a body that matches the documented schema
//!   (`response_schema_conformance`).
//!
//! The hooks in `tests/interop/schemathesis_hooks.py` log the accounts under test in (with a
//! TOTP code: administrators must use a second factor here), keep their sessions alive and
//! count the answers.
//!
//! Size: `PORTCULLIS_SCHEMATHESIS_EXAMPLES` is the number of generated cases per operation and
//! phase (default 20, the CI run: both runs together take well under a minute). The long run is
//! `PORTCULLIS_SCHEMATHESIS_EXAMPLES=150`, about 17,000 requests in three minutes:
//!
//! ```text
//! PORTCULLIS_SCHEMATHESIS_EXAMPLES=150 scripts/test -p portcullis-server --test api_schemathesis -- --nocapture
//! ```
//!
//! `PORTCULLIS_SCHEMATHESIS_SEED` replays the run of a seed that Schemathesis printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::factor::totp::{STEP_SECS, TotpSecret};
use portcullis_server::config::Rule;
use serde_json::{Value, json};
use std::time::Duration;
use support::factors::{base32_decode, unix_now};
use support::{TestApp, require_env, strong_password, unique_email};

/// Generated cases per operation and phase in the CI run.
const CI_EXAMPLES: u32 = 20;

/// The administrators' role; their logins need a second factor on the server under test, as
/// in a deployment.
const ADMIN: &str = "admin";

/// An account the hooks log in as.
struct Account {
    email: String,
    password: String,
    totp: Option<(String, i64)>,
}

impl Account {
    fn to_json(&self) -> Value {
        json!({
            "email": self.email,
            "password": self.password,
            "totp_secret": self.totp.as_ref().map(|(s, _)| s),
            "totp_last_step": self.totp.as_ref().map(|(_, step)| step),
        })
    }
}

/// A server as the attacks meet it: SQLite, mail to files, limits high enough that the run
/// is not all 429s (those still happen: the login back-off and the code limits stay), and
/// administrators held to two factors.
async fn spawn() -> TestApp {
    TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.rate_limit.per_ip_per_minute = 1_000_000;
            c.rate_limit.auth_per_ip_per_minute = 1_000_000;
            c.rate_limit.per_account_per_minute = 1_000;
            c.tokens.access_ttl = Duration::from_secs(3600);
            c.login.required_factors.insert(ADMIN.into(), 2);
            c.forward_auth.rules = forward_auth_rules();
        })
        .spawn()
        .await
}

/// Forward-auth rules for every kind of verdict: public, any session, administrators with
/// a second factor, and any session for the rest.
fn forward_auth_rules() -> Vec<Rule> {
    let rule =
        |path_prefix: &str, audience: Option<&str>, roles: &[&str], acr: Option<&str>| Rule {
            host: None,
            path_prefix: path_prefix.into(),
            methods: Vec::new(),
            audience: audience.map(Into::into),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            acr: acr.map(Into::into),
            max_age: None,
            public: audience.is_none(),
        };
    vec![
        rule("/public", None, &[], None),
        rule("/admin", Some("admin-app"), &[ADMIN], Some("aal2")),
        rule("/", Some("app"), &[], None),
    ]
}

/// An active account with `roles`, with a confirmed authenticator app when `totp`.
async fn account(app: &TestApp, tag: &str, roles: &[&str], totp: bool) -> Account {
    let email = unique_email(tag);
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    let totp = if totp {
        let access = app.login(&email, &password).await.access;
        Some(enrol_totp(app, &access).await)
    } else {
        None
    };
    if !roles.is_empty() {
        app.set_roles(&id, roles).await;
    }
    Account {
        email,
        password,
        totp,
    }
}

/// Enrols and confirms an authenticator app; returns its base32 secret and the step whose
/// code the confirmation spent.
async fn enrol_totp(app: &TestApp, access: &str) -> (String, i64) {
    let enrolment = app
        .post(
            "/v1/me/factors/totp",
            Some(access),
            &json!({ "label": "st" }),
        )
        .await
        .expect(201)
        .json();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let now = unix_now();
    let code = TotpSecret::from_bytes(base32_decode(&secret))
        .unwrap()
        .code_at(now)
        .unwrap();
    let factor = enrolment["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{factor}/confirm"),
        Some(access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);
    (secret, now / STEP_SECS)
}

/// What one `st run` reported.
struct Outcome {
    status: i32,
    output: String,
    stats: Value,
}

/// Runs Schemathesis against `app` as `main`; `spare` takes the operations that end sessions.
async fn schemathesis(app: &TestApp, main: &Account, spare: &Account) -> Outcome {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let hooks = format!(
        "{}/schemathesis_hooks.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let examples = std::env::var("PORTCULLIS_SCHEMATHESIS_EXAMPLES")
        .ok()
        .map_or(CI_EXAMPLES, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("PORTCULLIS_SCHEMATHESIS_EXAMPLES={v} is not a count"))
        });
    let work = tempfile::tempdir().unwrap();
    let stats = work.path().join("stats.json");
    let credentials = json!({ "base": app.base, "main": main.to_json(), "spare": spare.to_json() });
    let mut cmd = tokio::process::Command::new(&python);
    cmd.current_dir(work.path())
        .args(["-m", "schemathesis.cli", "run", &app.url("/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--workers", "2", "--generation-database", "none"])
        .args(["--continue-on-failure", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("PORTCULLIS_ST_CREDENTIALS", credentials.to_string())
        .env("PORTCULLIS_ST_STATS", &stats)
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .kill_on_drop(true);
    if let Ok(seed) = std::env::var("PORTCULLIS_SCHEMATHESIS_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let out = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python} -m schemathesis.cli: {e}"));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stats = std::fs::read_to_string(&stats)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Outcome {
        status: out.status.code().unwrap_or(-1),
        output,
        stats,
    }
}

/// Runs the attacks as `main` and fails with Schemathesis' report when it found anything.
async fn attack(app: &TestApp, role: &str, main: &Account, spare: &Account) {
    let outcome = schemathesis(app, main, spare).await;
    let requests = outcome.stats["requests"].as_u64().unwrap_or(0);
    // Schemathesis' warnings and summary (shown with `--nocapture`).
    let report = outcome
        .output
        .find("=== WARNINGS")
        .or(outcome.output.find("=== SUMMARY"));
    let by_operation: String = outcome.stats["operations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(op, statuses)| format!("  {op:<58} {statuses}\n"))
        .collect();
    eprintln!(
        "schemathesis as {role}: {requests} requests, statuses {}, logins {}\n{by_operation}{}",
        outcome.stats["statuses"],
        outcome.stats["logins"],
        report.map_or("", |i| &outcome.output[i..]),
    );
    assert_eq!(
        outcome.status, 0,
        "Schemathesis found problems as {role}:\n{}",
        outcome.output
    );
    assert!(
        requests > 500,
        "as {role}, only {requests} requests:\n{}",
        outcome.output
    );
    // The main account logged in: a run whose logins all failed would test only refusals.
    assert!(
        outcome.stats["logins"]["main"].as_u64().unwrap_or(0) >= 1,
        "{}",
        outcome.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_as_a_user() {
    let app = spawn().await;
    let user = account(&app, "st-user", &[], true).await;
    let spare = account(&app, "st-spare", &[], false).await;
    attack(&app, "a user", &user, &spare).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_as_an_administrator() {
    let app = spawn().await;
    let admin = account(&app, "st-admin", &[ADMIN], true).await;
    let spare = account(&app, "st-spare", &[], false).await;
    attack(&app, "an administrator", &admin, &spare).await;
}

/// Found by the attacks: a query string the revocation feed could not read was answered by
/// axum's `Query` in `text/plain`, not problem+json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_feed_query_is_a_problem() {
    let app = TestApp::builder().file_mail().spawn().await;
    let caller = app.service_caller().await;
    for query in ["since=soon", "limit=-", "limit=99999999999999999999"] {
        app.get(&format!("/v1/revocations?{query}"), Some(&caller))
            .await
            .problem(400, Some("invalid-query"));
    }
    app.get("/v1/revocations?since=0&limit=5", Some(&caller))
        .await
        .expect(200);
}

/// A form body over `max_body_bytes` is 413, as a JSON one is (it was a 400 `invalid-body`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_form_is_413() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.max_body_bytes = 1024)
        .spawn()
        .await;
    let caller = app.service_caller().await;
    let body = format!("token={}", "a".repeat(4096));
    let req = app
        .request(reqwest::Method::POST, "/v1/introspect", Some(&caller))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    app.send(req).await.problem(413, Some("payload-too-large"));
}
