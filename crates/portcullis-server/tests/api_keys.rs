//! API keys of front-end applications, end to end on a spawned server: an administrator makes
//! keys (shown once, never listed), `GET /v1/api-keys/current` accepts a live key and refuses
//! a missing, wrong, revoked or rate-exceeded one and a browser origin the key does not
//! allow, `require_app` refuses a scope the key lacks, a browser's preflight may send the
//! key, and neither the audit log nor the database file holds a key. Each flow runs on SQLite
//! and on PostgreSQL. (The CLI and two nodes on one PostgreSQL: `crates/portcullis/tests`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use axum::http::{HeaderMap, HeaderValue};
use portcullis_core::api_key::ApiScope;
use portcullis_server::auth::api_key::require_app;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Backend, Reply, TestApp, strong_password, unique_email};

const APP_ORIGIN: &str = "https://shop.example.com";

async fn spawn(backend: Backend) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| c.cors.allowed_origins = vec![APP_ORIGIN.to_owned()])
        .spawn()
        .await
}

/// An administrator's access token.
async fn admin(app: &TestApp) -> String {
    let (email, password) = (unique_email("keys-admin"), strong_password());
    let id = app.register_active(&email, &password).await;
    app.make_admin(&id).await;
    app.login(&email, &password).await.access
}

async fn create(app: &TestApp, admin: &str, body: &Value) -> Reply {
    app.post("/v1/admin/api-keys", Some(admin), body).await
}

/// `GET /v1/api-keys/current` with the key (when given) and an `Origin` (when given).
async fn current(app: &TestApp, key: Option<&str>, origin: Option<&str>) -> Reply {
    let mut req = app.request(Method::GET, "/v1/api-keys/current", None);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.send(req).await
}

async fn keys_and_refusals(backend: Backend) {
    let app = spawn(backend).await;
    let admin = admin(&app).await;

    // Made by an administrator, shown once.
    let created = create(
        &app,
        &admin,
        &json!({"name": "Shop front", "scopes": ["wallets:read", "wallets:sign"],
                "origins": ["https://Shop.Example.com:443", "http://localhost:3000"]}),
    )
    .await;
    let body = created.expect(201).json();
    let key = body["key"].as_str().unwrap().to_owned();
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_live_") && key.len() == 51, "{key}");
    assert!(key.starts_with(body["prefix"].as_str().unwrap()), "{body}");
    assert_eq!(body["scopes"], json!(["wallets:read", "wallets:sign"]));
    assert_eq!(
        body["origins"],
        json!(["https://shop.example.com", "http://localhost:3000"])
    );
    assert_eq!(body["rate_per_minute"], Value::Null);

    let list = app.get("/v1/admin/api-keys", Some(&admin)).await;
    assert!(!list.expect(200).text.contains(&key[8..]), "{}", list.text);
    let listed = list.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], json!(id));
    assert_eq!(listed[0]["prefix"], body["prefix"]);
    assert!(listed[0].get("key").is_none() && listed[0].get("key_hash").is_none());

    // The key works, with or without an allowed origin.
    for origin in [None, Some(APP_ORIGIN), Some("http://localhost:3000")] {
        let me = current(&app, Some(&key), origin).await;
        assert_eq!(
            me.expect(200).json(),
            json!({"id": id, "name": "Shop front", "scopes": ["wallets:read", "wallets:sign"]}),
            "origin {origin:?}"
        );
    }
    // The key's use is recorded.
    let listed = app.get("/v1/admin/api-keys", Some(&admin)).await.json();
    assert!(listed[0]["last_used_at"].as_i64().is_some(), "{listed}");

    // Refusals, each with its problem.
    current(&app, None, None)
        .await
        .problem(401, Some("api-key-required"));
    let wrong = format!("pk_live_{}", "A".repeat(43));
    for bad in [wrong.as_str(), "pk_live_short", "not a key", &key[..50]] {
        let r = current(&app, Some(bad), None).await;
        r.problem(401, Some("api-key-invalid"));
        assert!(r.header("www-authenticate").is_some());
    }
    for origin in [
        "https://evil.example",
        "https://shop.example.com.evil.example",
        "http://shop.example.com",
        "null",
    ] {
        current(&app, Some(&key), Some(origin))
            .await
            .problem(403, Some("api-key-origin"));
    }

    // A scope the key lacks, as the wallet handlers check it.
    let state = &app.server().state;
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_str(&key).unwrap());
    let allowed = require_app(state, &headers, ApiScope::WalletsSign).await;
    assert_eq!(allowed.unwrap().id.to_string(), id);
    let refused = require_app(state, &headers, ApiScope::WalletsSend).await;
    let problem = refused.unwrap_err().problem();
    assert_eq!(problem.status, 403);
    assert!(problem.type_.ends_with("/api-key-scope"), "{problem:?}");
    assert!(problem.detail.unwrap().contains("wallets:send"));

    // Bad requests to make one.
    for (body, slug) in [
        (
            json!({"name": "x", "scopes": ["wallets:admin"]}),
            "invalid-scope",
        ),
        (json!({"name": "x", "scopes": []}), "invalid-scope"),
        (
            json!({"name": "", "scopes": ["wallets:read"]}),
            "invalid-name",
        ),
        (
            json!({"name": "x", "scopes": ["wallets:read"], "origins": ["https://a.test/path"]}),
            "invalid-origin",
        ),
        (
            json!({"name": "x", "scopes": ["wallets:read"], "rate_per_minute": 0}),
            "invalid-rate",
        ),
    ] {
        create(&app, &admin, &body).await.problem(400, Some(slug));
    }
    // Only administrators.
    let (email, password) = (unique_email("keys-user"), strong_password());
    app.register_active(&email, &password).await;
    let user = app.login(&email, &password).await.access;
    let body = json!({"name": "x", "scopes": ["wallets:read"]});
    create(&app, &user, &body)
        .await
        .problem(403, Some("forbidden"));
    app.get("/v1/admin/api-keys", None)
        .await
        .problem(401, Some("unauthenticated"));

    // Revoked: refused at once, listed with its time; revoking again changes nothing.
    let path = format!("/v1/admin/api-keys/{id}");
    app.delete(&path, Some(&user), None)
        .await
        .problem(403, Some("forbidden"));
    app.delete(&path, Some(&admin), None).await.expect(204);
    current(&app, Some(&key), None)
        .await
        .problem(401, Some("api-key-invalid"));
    app.delete(&path, Some(&admin), None).await.expect(204);
    let listed = app.get("/v1/admin/api-keys", Some(&admin)).await.json();
    assert!(listed[0]["revoked_at"].as_i64().is_some(), "{listed}");
    let unknown = "/v1/admin/api-keys/0190a0b1-0000-7000-8000-000000000000";
    app.delete(unknown, Some(&admin), None)
        .await
        .problem(404, Some("not-found"));
    app.delete("/v1/admin/api-keys/nonsense", Some(&admin), None)
        .await
        .problem(404, Some("not-found"));

    // Audited, never with the key.
    let records = state.ledgers().audit.page(0, 10_000).await.unwrap();
    for event in ["admin.api_key_added", "admin.api_key_revoked"] {
        let n = records.iter().filter(|r| r.event.event == event).count();
        assert_eq!(n, 1, "{event}");
    }
    for r in &records {
        let text = format!("{:?} {}", r.event, r.event.detail);
        assert!(
            !text.contains(&key[8..]),
            "a key reached the audit log: {text}"
        );
    }
    if backend == Backend::Sqlite {
        assert_no_key_on_disk(&app, &key[8..]);
    }
}

/// No file of the data directory (databases, their logs, the ledgers) holds `secret`.
fn assert_no_key_on_disk(app: &TestApp, secret: &str) {
    let mut files = 0;
    for entry in std::fs::read_dir(app.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the key is stored in the clear in {}",
                path.display()
            );
        }
    }
    assert!(files > 0);
}

/// A key's own rate: the third request in a minute of a 2-per-minute key is refused with
/// `Retry-After`; requests refused for their origin are not counted (another site cannot
/// spend an application's budget), and another key is not affected.
async fn rate_per_key(backend: Backend) {
    let app = spawn(backend).await;
    let admin = admin(&app).await;
    let mut keys = Vec::new();
    for rate in [Some(2), None] {
        let body = json!({"name": "limited", "scopes": ["wallets:read"],
                          "origins": [APP_ORIGIN], "rate_per_minute": rate});
        let created = create(&app, &admin, &body).await.expect(201).json();
        assert_eq!(created["rate_per_minute"], json!(rate));
        keys.push(created["key"].as_str().unwrap().to_owned());
    }
    for _ in 0..4 {
        current(&app, Some(&keys[0]), Some("https://evil.example"))
            .await
            .problem(403, Some("api-key-origin"));
    }
    for _ in 0..2 {
        current(&app, Some(&keys[0]), Some(APP_ORIGIN))
            .await
            .expect(200);
    }
    let limited = current(&app, Some(&keys[0]), None).await;
    let problem = limited.problem(429, Some("rate-limited"));
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(problem["retry_after"], json!(retry));
    for _ in 0..5 {
        current(&app, Some(&keys[1]), None).await.expect(200);
    }
}

/// A browser app on another origin may send its key: the preflight allows `X-API-Key` beside
/// `Authorization`.
async fn preflight_allows_the_key_header(backend: Backend) {
    let app = spawn(backend).await;
    let req = app
        .request(Method::OPTIONS, "/v1/api-keys/current", None)
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-api-key, authorization");
    let reply = app.send(req).await;
    assert!(reply.status.is_success(), "{reply:?}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-api-key"), "{allowed}");
    assert!(allowed.contains("authorization"), "{allowed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_refusals_sqlite() {
    keys_and_refusals(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_refusals_postgres() {
    keys_and_refusals(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_per_key_sqlite() {
    rate_per_key(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_per_key_postgres() {
    rate_per_key(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_allows_the_key_header_sqlite() {
    preflight_allows_the_key_header(Backend::Sqlite).await;
}
