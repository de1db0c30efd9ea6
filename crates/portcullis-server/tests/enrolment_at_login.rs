//! Enrolment at login: someone whose role requires two factors and who has none gets a
//! restricted token instead of a refusal; with it they enrol an authenticator app, whose
//! first code completes the login at `aal2`. The token works nowhere else: not at `/v1/me`,
//! not as a refresh token, not through the guard or forward-auth, and never again once used.
//! Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use portcullis_core::factor::FactorKind;
use portcullis_core::factor::totp::TotpSecret;
use portcullis_guard::{Guard, GuardConfig, GuardLayer, Requirement, Verified};
use portcullis_server::services::forward_auth::{ForwardAuthConfig, Rule};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::factors::{base32_decode, unix_now};
use support::{Backend, TestApp, strong_password, unique_email};

fn forward_rules() -> ForwardAuthConfig {
    ForwardAuthConfig {
        token_ttl: Duration::from_secs(60),
        rules: vec![Rule {
            host: None,
            path_prefix: "/".into(),
            methods: Vec::new(),
            audience: Some("app".into()),
            roles: Vec::new(),
            acr: None,
            max_age: None,
            public: false,
        }],
    }
}

async fn spawn(backend: Backend, ttl: Duration) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| {
            c.login.required_factors.insert("admin".into(), 2);
            c.login
                .mfa_factors
                .insert("admin".into(), vec![FactorKind::Totp, FactorKind::Passkey]);
            c.login.enrolment_ttl = ttl;
            // Several logins of one account in a few seconds: not what this test is about.
            c.rate_limit.per_account_per_minute = 1_000;
            c.rate_limit.auth_per_ip_per_minute = 1_000_000;
            c.forward_auth = forward_rules();
        })
        .spawn()
        .await
}

/// An active administrator without any second factor: email and password.
async fn bare_admin(app: &TestApp) -> (String, String) {
    let email = unique_email("enrol-admin");
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.set_roles(&id, &["admin"]).await;
    (email, password)
}

/// A login that must enrol: the challenge id and the restricted token.
async fn restricted(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let pending = app.try_login(email, password).await.expect(202).json();
    assert_eq!(pending["state"], "enrolment_required", "{pending}");
    assert_eq!(pending["factors"], json!([]), "{pending}");
    assert_eq!(
        pending["enrolment"]["factors"],
        json!(["totp"]),
        "{pending}"
    );
    assert_eq!(pending["enrolment"]["token_type"], "Bearer");
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let token = pending["enrolment"]["token"].as_str().unwrap().to_owned();
    (id, token)
}

async fn start_totp(app: &TestApp, id: &str, token: &str) -> support::Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}/enrolment/totp"),
        Some(token),
        &json!({ "label": "phone" }),
    )
    .await
}

async fn confirm(app: &TestApp, id: &str, token: &str, factor: &str, code: &str) -> support::Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}/enrolment/confirm"),
        Some(token),
        &json!({ "factor_id": factor, "code": code }),
    )
    .await
}

/// A protected service behind the guard crate; its base URL.
async fn guarded_service(app: &TestApp) -> String {
    let guard = Guard::new(GuardConfig::new(
        app.base.clone(),
        "portcullis",
        format!("{}/.well-known/jwks.json", app.base),
    ))
    .unwrap();
    let service = Router::new()
        .route(
            "/accounts",
            get(|v: Verified| async move { v.claims().sub.clone() }),
        )
        .route_layer(GuardLayer::new(guard, Requirement::authenticated()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    format!("http://{addr}")
}

async fn through_guard(service: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{service}/accounts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn through_forward_auth(app: &TestApp, token: &str) -> u16 {
    app.send(
        app.request(Method::GET, "/v1/forward-auth", Some(token))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-host", "app.test")
            .header("x-forwarded-uri", "/api/x"),
    )
    .await
    .status
    .as_u16()
}

fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn full_flow(backend: Backend) {
    let app = spawn(backend, Duration::from_secs(600)).await;
    let service = guarded_service(&app).await;
    let (email, password) = bare_admin(&app).await;
    let (id, token) = restricted(&app, &email, &password).await;

    // The restricted token is no access token and no refresh token, anywhere.
    app.get("/v1/me", Some(&token))
        .await
        .problem(401, Some("unauthenticated"));
    app.get("/v1/me/factors", Some(&token)).await.expect(401);
    app.post("/v1/me/factors/totp", Some(&token), &json!({}))
        .await
        .expect(401);
    app.refresh(&token).await.expect(401);
    assert_eq!(through_guard(&service, &token).await, 401);
    assert_eq!(through_forward_auth(&app, &token).await, 401);
    // Nothing can be answered the ordinary way, and another token opens nothing.
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({ "factor": "totp", "code": "123456" }),
    )
    .await
    .problem(400, Some("factor-not-offered"));
    let other = "A".repeat(43);
    start_totp(&app, &id, &other)
        .await
        .problem(401, Some("unauthenticated"));
    start_totp(&app, &id, "not-a-token").await.expect(401);

    // Enrol an authenticator app; a wrong first code counts as a failure.
    let started = start_totp(&app, &id, &token).await.expect(201).json();
    let factor = started["id"].as_str().unwrap().to_owned();
    let secret =
        TotpSecret::from_bytes(base32_decode(started["secret"].as_str().unwrap())).unwrap();
    let good = secret.code_at(unix_now()).unwrap();
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let refused = confirm(&app, &id, &token, &factor, wrong)
        .await
        .problem(401, Some("invalid-credentials"));
    assert!(refused["detail"].is_string(), "{refused}");
    confirm(&app, &id, &token, "no-such-factor", &good)
        .await
        .expect(404);

    // The right one completes the login: a full session at aal2 with a refresh token.
    let tokens = confirm(&app, &id, &token, &factor, &good)
        .await
        .expect(201)
        .json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let c = claims(&access);
    assert_eq!(c["acr"], "aal2", "{c}");
    assert_eq!(c["amr"], json!(["pwd", "otp"]), "{c}");
    app.get("/v1/me", Some(&access)).await.expect(200);
    let listed = app
        .get("/v1/me/factors", Some(&access))
        .await
        .expect(200)
        .json();
    let confirmed: Vec<&Value> = listed["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["confirmed"] == true)
        .collect();
    assert_eq!(confirmed.len(), 1, "{listed}");
    assert_eq!(confirmed[0]["kind"], "totp");
    assert_eq!(through_guard(&service, &access).await, 200);
    assert_eq!(through_forward_auth(&app, &access).await, 200);
    let refreshed = app
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .expect(200)
        .json();
    assert!(refreshed["access_token"].is_string());

    // The restricted token is spent: it enrols no second factor, confirms nothing, ends
    // nothing.
    start_totp(&app, &id, &token).await.expect(401);
    confirm(&app, &id, &token, &factor, &good).await.expect(401);
    app.delete(
        &format!("/v1/sessions/challenges/{id}/enrolment"),
        Some(&token),
        None,
    )
    .await
    .expect(401);
    // The next login asks for the new factor, the ordinary way.
    let next = app.try_login(&email, &password).await.expect(202).json();
    assert_eq!(next["state"], "mfa_required", "{next}");
    assert_eq!(next["factors"], json!(["totp"]), "{next}");
    assert!(next.get("enrolment").is_none(), "{next}");

    // Every step is in the audit log.
    let events = audit_events(&app).await;
    for event in [
        "login.enrolment_required",
        "factor.enrolment_started",
        "factor.confirm_failed",
        "factor.enrolled",
        "login.succeeded",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
}

async fn audit_events(app: &TestApp) -> Vec<String> {
    let state = &app.server().state;
    state
        .ledgers()
        .audit
        .page(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_must_have_mfa_enrols_at_login_and_gets_a_full_session_sqlite() {
    full_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_must_have_mfa_enrols_at_login_and_gets_a_full_session_postgres() {
    full_flow(Backend::Postgres).await;
}

async fn limits(backend: Backend) {
    let app = spawn(backend, Duration::from_secs(2)).await;
    let (email, password) = bare_admin(&app).await;

    // Abandoned: the token stops at once.
    let (id, token) = restricted(&app, &email, &password).await;
    app.delete(
        &format!("/v1/sessions/challenges/{id}/enrolment"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    start_totp(&app, &id, &token).await.expect(401);

    // Expired: refused once its lifetime is over.
    let (id, token) = restricted(&app, &email, &password).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    start_totp(&app, &id, &token)
        .await
        .problem(410, Some("challenge-expired"));

    // Two logins, two tokens: once the first enrolled a factor, the second cannot add one.
    let (id_a, token_a) = restricted(&app, &email, &password).await;
    let (id_b, token_b) = restricted(&app, &email, &password).await;
    let started_b = start_totp(&app, &id_b, &token_b).await.expect(201).json();
    let started = start_totp(&app, &id_a, &token_a).await.expect(201).json();
    let secret =
        TotpSecret::from_bytes(base32_decode(started["secret"].as_str().unwrap())).unwrap();
    let code = secret.code_at(unix_now()).unwrap();
    confirm(
        &app,
        &id_a,
        &token_a,
        started["id"].as_str().unwrap(),
        &code,
    )
    .await
    .expect(201);
    start_totp(&app, &id_b, &token_b)
        .await
        .problem(403, Some("forbidden"));
    let secret_b =
        TotpSecret::from_bytes(base32_decode(started_b["secret"].as_str().unwrap())).unwrap();
    confirm(
        &app,
        &id_b,
        &token_b,
        started_b["id"].as_str().unwrap(),
        &secret_b.code_at(unix_now()).unwrap(),
    )
    .await
    .problem(403, Some("forbidden"));
    assert!(
        audit_events(&app)
            .await
            .iter()
            .any(|e| e == "login.enrolment_refused")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restricted_token_expires_ends_and_never_adds_a_second_factor_sqlite() {
    limits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restricted_token_expires_ends_and_never_adds_a_second_factor_postgres() {
    limits(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_the_login_is_refused_as_before() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.login.required_factors.insert("admin".into(), 2);
            c.login.enrol_at_login = false;
        })
        .spawn()
        .await;
    let (email, password) = bare_admin(&app).await;
    app.try_login(&email, &password)
        .await
        .problem(403, Some("forbidden"));
}
