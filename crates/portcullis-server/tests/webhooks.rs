//! Services learn of accounts: signed webhooks (Standard Webhooks) received by a separate
//! process, `tests/interop/webhook_receiver.py`, which verifies every delivery with the
//! `standardwebhooks` package from PyPI and asks it about a forged and a replayed copy.
//! Each check runs on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use portcullis_core::ids::AccountId;
use portcullis_server::services::accounts;
use serde_json::{Value, json};
use support::{Backend, TestApp, require_env, strong_password, unique_email};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The subscriber: the Python receiver on a fixed port, logging to a file.
struct Receiver {
    port: u16,
    log: PathBuf,
    secrets: Vec<String>,
    child: Option<Child>,
}

impl Receiver {
    fn new(dir: &Path, secrets: &[&str]) -> Self {
        // A free port now; the receiver binds it (again after a restart).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            log: dir.join(format!("webhooks-{port}.jsonl")),
            secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/portcullis", self.port)
    }

    async fn start(&mut self) {
        let python = require_env("PORTCULLIS_TEST_PYTHON");
        let script = format!(
            "{}/webhook_receiver.py",
            require_env("PORTCULLIS_TEST_INTEROP_DIR")
        );
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["--port", &self.port.to_string()])
            .arg("--log")
            .arg(&self.log);
        for s in &self.secrets {
            cmd.args(["--secret", s]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver starts within 20 s")
            .unwrap();
        assert_eq!(ready.as_deref(), Some("ready"));
        self.child = Some(child);
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Every delivery received so far, in arrival order.
    fn records(&self) -> Vec<Value> {
        match std::fs::read_to_string(&self.log) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Waits until `done(records)` holds (at most 60 s).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let records = self.records();
            if done(&records) {
                return records;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited 60 s for {what}; received: {records:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn body(record: &Value) -> Value {
    serde_json::from_str(record["body"].as_str().unwrap()).unwrap()
}

/// `(account id, type)` of each record, deliveries of one event counted once, in arrival
/// order per account.
fn by_account(records: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        if !seen.insert(r["webhook_id"].as_str().unwrap().to_owned()) {
            continue;
        }
        let b = body(r);
        out.entry(b["data"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(b["type"].as_str().unwrap().to_owned());
    }
    out
}

fn fast_retries(app: support::Builder, backend: Backend) -> support::Builder {
    app.backend(backend).configure(|c| {
        c.webhooks.retry_base = Duration::from_secs(1);
        c.webhooks.retry_max = Duration::from_secs(2);
        c.webhooks.max_attempts = 1000;
        c.webhooks.timeout = Duration::from_secs(5);
    })
}

/// An administrator's access token.
async fn admin(app: &TestApp) -> String {
    let email = unique_email("webhook-admin");
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.make_admin(&id).await;
    app.login(&email, &password).await.access
}

/// Subscribes `url` through the API; returns the id and secret.
async fn subscribe(app: &TestApp, token: &str, url: &str) -> (String, String) {
    let created = app
        .post(
            "/v1/admin/webhooks",
            Some(token),
            &json!({ "url": url, "description": "test" }),
        )
        .await;
    let created = created.expect(201).json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    (created["id"].as_str().unwrap().to_owned(), secret)
}

async fn account(app: &TestApp, id: &str) -> portcullis_store::model::AccountRecord {
    let id: AccountId = id.parse().unwrap();
    app.server()
        .state
        .store()
        .accounts
        .get(id)
        .await
        .unwrap()
        .unwrap()
}

async fn every_event_type_arrives_signed_and_verifiable(backend: Backend) {
    let app = fast_retries(TestApp::builder(), backend).spawn().await;
    let token = admin(&app).await;
    let mut receiver = Receiver::new(app.data_dir(), &[]);
    let (hook_id, secret) = subscribe(&app, &token, &receiver.url()).await;
    receiver.secrets = vec![secret.clone()];
    receiver.start().await;

    // Listing never shows a secret; a plain user may not list.
    let listed = app
        .get("/v1/admin/webhooks", Some(&token))
        .await
        .expect(200)
        .json();
    assert_eq!(listed[0]["id"], hook_id.as_str(), "{listed}");
    assert!(
        listed[0].get("secret").is_none() && !listed.to_string().contains("whsec_"),
        "{listed}"
    );

    // A: registered, verified by mail, renamed, deleted (the API path).
    let (email_a, password_a) = (unique_email("hook-a"), strong_password());
    let a = app.register_verified(&email_a, &password_a).await;
    let session = app.login(&email_a, &password_a).await;
    app.get("/v1/admin/webhooks", Some(&session.access))
        .await
        .problem(403, None);
    app.patch(
        "/v1/me",
        Some(&session.access),
        &json!({ "display_name": "Ada L." }),
    )
    .await
    .expect(200);
    // B: created and disabled, then given roles, the way `portcullis user` does it.
    let state = &app.server().state;
    let email_b = unique_email("hook-b");
    let b = accounts::create_active(
        state,
        &portcullis_core::contact::Email::parse(&email_b).unwrap(),
        None,
        portcullis_core::password::Password::new(strong_password()),
        vec!["reader".into()],
        "test".into(),
    )
    .await
    .unwrap()
    .to_string();
    accounts::disable(state, &account(&app, &b).await, "test".into())
        .await
        .unwrap();
    app.delete(
        "/v1/me",
        Some(&session.access),
        Some(&json!({ "password": password_a })),
    )
    .await
    .expect(204);

    let records = receiver
        .wait_for("6 events", |r| {
            by_account(r).values().map(Vec::len).sum::<usize>() >= 6
        })
        .await;
    let events = by_account(&records);
    assert_eq!(
        events[&a],
        [
            "account.created",
            "account.verified",
            "account.updated",
            "account.deleted"
        ]
    );
    assert_eq!(events[&b], ["account.created", "account.disabled"]);

    for r in &records {
        assert_eq!(
            r["verdicts"],
            json!(["accepted"]),
            "the package refused: {r:#}"
        );
        assert_eq!(
            r["forged"], "rejected: No matching signature found",
            "{r:#}"
        );
        assert_eq!(
            r["replayed"], "rejected: Message timestamp too old",
            "{r:#}"
        );
        assert_eq!(r["content_type"], "application/json");
        assert_eq!(r["path"], "/hooks/portcullis");
        assert!(
            r["webhook_id"].as_str().unwrap().starts_with("msg_"),
            "{r:#}"
        );
        let b = body(r);
        let at = b["timestamp"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339: {at}");
        // Never a password (hash), a secret or a token.
        let text = r["body"].as_str().unwrap();
        for needle in [
            "argon2",
            "password",
            "secret",
            "token",
            &password_a,
            &secret[6..],
        ] {
            assert!(!text.contains(needle), "{needle:?} in {text}");
        }
    }
    let created = records
        .iter()
        .map(body)
        .find(|b| b["type"] == "account.created" && b["data"]["id"] == a.as_str())
        .unwrap();
    assert_eq!(created["data"]["email"], email_a.as_str(), "{created}");
    assert_eq!(created["data"]["status"], "pending", "{created}");
    let created_b = records
        .iter()
        .map(body)
        .find(|x| x["type"] == "account.created" && x["data"]["id"] == b.as_str())
        .unwrap();
    assert_eq!(created_b["data"]["email"], email_b.as_str());
    assert_eq!(created_b["data"]["roles"], json!(["reader"]));
    let deleted = records
        .iter()
        .map(body)
        .find(|b| b["type"] == "account.deleted")
        .unwrap();
    assert_eq!(deleted["data"], json!({ "id": a, "status": "deleted" }));

    // Rotation: the new secret is shown once; during the grace period deliveries carry a
    // signature by each, so a subscriber holding either verifies them.
    let rotated = app
        .post(
            &format!("/v1/admin/webhooks/{hook_id}/rotate-secret"),
            Some(&token),
            &json!({}),
        )
        .await
        .expect(200)
        .json();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    receiver.stop().await;
    receiver.secrets = vec![new_secret, secret];
    receiver.start().await;
    accounts::enable(state, &account(&app, &b).await, "test".into())
        .await
        .unwrap();
    let records = receiver
        .wait_for("the enabling", |r| by_account(r)[&b].len() == 3)
        .await;
    let last = records.last().unwrap();
    assert_eq!(body(last)["type"], "account.updated");
    assert_eq!(body(last)["data"]["status"], "active");
    assert_eq!(
        last["verdicts"],
        json!(["accepted", "accepted"]),
        "{last:#}"
    );
    assert_eq!(
        last["webhook_signature"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );

    // Removed: no more deliveries; an unknown id is 404.
    app.delete(&format!("/v1/admin/webhooks/{hook_id}"), Some(&token), None)
        .await
        .expect(204);
    app.delete(&format!("/v1/admin/webhooks/{hook_id}"), Some(&token), None)
        .await
        .problem(404, None);
    receiver.stop().await;
}

async fn a_receiver_that_was_down_gets_every_event_in_order(backend: Backend) {
    let app = fast_retries(TestApp::builder().file_mail(), backend)
        .spawn()
        .await;
    let token = admin(&app).await;
    let mut receiver = Receiver::new(app.data_dir(), &[]);
    let (hook_id, secret) = subscribe(&app, &token, &receiver.url()).await;
    receiver.secrets = vec![secret];
    let state = &app.server().state;

    // The receiver is down while two accounts change several times.
    let mut ids = Vec::new();
    for n in 0..2 {
        let email =
            portcullis_core::contact::Email::parse(&unique_email(&format!("down-{n}"))).unwrap();
        let password = portcullis_core::password::Password::new(strong_password());
        let id = accounts::create_active(state, &email, None, password, vec![], "test".into())
            .await
            .unwrap();
        for role in ["one", "two", "three"] {
            accounts::set_roles(
                state,
                &account(&app, &id.to_string()).await,
                vec![role.into()],
                "test".into(),
            )
            .await
            .unwrap();
        }
        accounts::disable(state, &account(&app, &id.to_string()).await, "test".into())
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    // Attempts fail and are retried; nothing is given up.
    let start = Instant::now();
    loop {
        let deliveries = state
            .store()
            .webhooks
            .deliveries(&hook_id, 100)
            .await
            .unwrap();
        if deliveries.iter().any(|d| d.attempts >= 2) {
            assert!(
                deliveries.iter().all(|d| d.state == "pending"),
                "{deliveries:?}"
            );
            assert_eq!(deliveries.len(), 10);
            // In order: only the first event of each account has been tried.
            let tried: Vec<_> = deliveries.iter().filter(|d| d.attempts > 0).collect();
            assert!(
                tried.len() <= 2,
                "later events were tried before earlier ones: {deliveries:?}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no retry: {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(receiver.records().is_empty());

    // Back on the same port: every event arrives, each account's in order.
    receiver.start().await;
    let records = receiver
        .wait_for("10 events", |r| {
            by_account(r).values().map(Vec::len).sum::<usize>() >= 10
        })
        .await;
    let events = by_account(&records);
    for id in &ids {
        assert_eq!(
            events[id],
            [
                "account.created",
                "account.updated",
                "account.updated",
                "account.updated",
                "account.disabled"
            ]
        );
        let roles: Vec<Value> = records
            .iter()
            .map(body)
            .filter(|b| b["data"]["id"] == id.as_str() && b["type"] == "account.updated")
            .map(|b| b["data"]["roles"].clone())
            .collect();
        assert_eq!(roles, [json!(["one"]), json!(["two"]), json!(["three"])]);
    }
    assert!(records.iter().all(|r| r["verdicts"] == json!(["accepted"])));
    let listed = app
        .get("/v1/admin/webhooks", Some(&token))
        .await
        .expect(200)
        .json();
    let counts = (
        &listed[0]["pending"],
        &listed[0]["delivered"],
        &listed[0]["failed"],
    );
    assert_eq!(counts, (&json!(0), &json!(10), &json!(0)), "{listed}");
    receiver.stop().await;
}

async fn a_delivery_given_up_is_audited_and_the_next_goes_on(backend: Backend) {
    let app = fast_retries(TestApp::builder().file_mail(), backend)
        .configure(|c| c.webhooks.max_attempts = 2)
        .spawn()
        .await;
    let token = admin(&app).await;
    // A receiver that refuses every delivery: it holds another secret.
    let mut receiver = Receiver::new(app.data_dir(), &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
    let (hook_id, _secret) = subscribe(&app, &token, &receiver.url()).await;
    receiver.start().await;
    let state = &app.server().state;
    let email = portcullis_core::contact::Email::parse(&unique_email("given-up")).unwrap();
    let password = portcullis_core::password::Password::new(strong_password());
    let id = accounts::create_active(state, &email, None, password, vec![], "test".into())
        .await
        .unwrap();
    accounts::disable(state, &account(&app, &id.to_string()).await, "test".into())
        .await
        .unwrap();
    let start = Instant::now();
    let deliveries = loop {
        let d = state
            .store()
            .webhooks
            .deliveries(&hook_id, 10)
            .await
            .unwrap();
        if !d.is_empty() && d.iter().all(|d| d.state == "failed") {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not given up: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        deliveries.len(),
        2,
        "the second event went on after the first was given up"
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.attempts == 2 && d.last_status == Some(400)),
        "{deliveries:?}"
    );
    let audit = state.ledgers().audit.page(0, 1000).await.unwrap();
    let failed: Vec<_> = audit
        .iter()
        .filter(|r| r.event.event == "webhook.delivery_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].event.subject.as_deref(), Some(hook_id.as_str()));
    assert!(audit.iter().any(|r| r.event.event == "admin.webhook_added"));
    assert!(
        !audit
            .iter()
            .any(|r| r.event.detail.to_string().contains("whsec_"))
    );
    assert_eq!(receiver.records().len(), 4, "each event tried twice");
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_arrives_signed_and_verifiable_sqlite() {
    every_event_type_arrives_signed_and_verifiable(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_arrives_signed_and_verifiable_postgres() {
    every_event_type_arrives_signed_and_verifiable(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_every_event_in_order_sqlite() {
    a_receiver_that_was_down_gets_every_event_in_order(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_every_event_in_order_postgres() {
    a_receiver_that_was_down_gets_every_event_in_order(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_given_up_is_audited_and_the_next_goes_on_sqlite() {
    a_delivery_given_up_is_audited_and_the_next_goes_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_given_up_is_audited_and_the_next_goes_on_postgres() {
    a_delivery_given_up_is_audited_and_the_next_goes_on(Backend::Postgres).await;
}
