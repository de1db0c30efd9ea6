//! The guard crate's `protected_service` example, end to end: its ledger router (the example's
//! own `ledger.rs`, compiled in here, not a copy) served on port 0 in front of a real
//! Portcullis, and a user walking it over HTTP: the public route, the role-guarded one, and a
//! transfer that asks for a step-up (RFC 9470), is proven with a TOTP code at Portcullis, and
//! then moves money; once the authentication is older than the ledger allows, it asks again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

#[path = "../../portcullis-guard/examples/protected_service/ledger.rs"]
mod ledger;
#[path = "../../portcullis-guard/examples/protected_service/local_accounts.rs"]
mod local_accounts;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ledger::{Ledger, READER_ROLE, TRANSFER_ACR, TRANSFER_MAX_AGE_SECS, WRITER_ROLE};
use portcullis_core::factor::totp::{STEP_SECS, TotpSecret};
use portcullis_guard::{Guard, GuardConfig};
use serde_json::{Value, json};
use support::{Reply, TestApp, strong_password, unique_email};

/// The audience the example accepts by default, which this Portcullis issues tokens for.
const AUDIENCE: &str = "ledger";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_asks_for_a_step_up_and_the_retry_moves_money() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.audience = AUDIENCE.to_owned())
        .spawn()
        .await;
    // The guard's clock runs `skew` seconds ahead of the real one, to age authentications.
    let skew = Arc::new(AtomicI64::new(0));
    let service = LedgerService::spawn(&app, Arc::clone(&skew)).await;

    // Public: no token needed. Guarded: no token is a bare Bearer challenge, also on the
    // transfer route, before its body is even read.
    let health = service.health().await.expect(200).json();
    assert_eq!(health["status"], "ok", "{health}");
    let anonymous = service.accounts(None).await;
    anonymous.problem(401, Some("unauthenticated"));
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    service
        .transfer(None, &json!({ "nonsense": true }))
        .await
        .problem(401, Some("unauthenticated"));

    // A valid token without the role is forbidden.
    let email = unique_email("ledger");
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    let nobody = app.login(&email, &password).await;
    let forbidden = service.accounts(Some(&nobody.access)).await;
    forbidden.problem(403, Some("forbidden"));
    assert_insufficient_scope(&forbidden);

    // A reader reads, but may not move money: that is 403 too, not a step-up, since no
    // second factor would grant the role.
    app.set_roles(&id, &[READER_ROLE]).await;
    let reader = app.login(&email, &password).await;
    let listed = service
        .accounts(Some(&reader.access))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["reader"], id.as_str(), "{listed}");
    assert_eq!(balances(&listed), START);
    let refused = service
        .transfer(Some(&reader.access), &payroll_top_up())
        .await;
    refused.problem(403, Some("forbidden"));
    assert_insufficient_scope(&refused);

    // A writer with a password-only session (aal1) is asked to step up.
    app.set_roles(&id, &[READER_ROLE, WRITER_ROLE]).await;
    let writer = app.login(&email, &password).await;
    let totp = enrol_totp(&app, &writer.access).await;
    let weak = service
        .transfer(Some(&writer.access), &payroll_top_up())
        .await;
    let problem = weak.problem(401, Some("step-up-required"));
    assert_step_up_challenge(&weak);
    assert_eq!(problem["acr_values"], TRANSFER_ACR, "{problem}");
    assert_eq!(problem["max_age"], TRANSFER_MAX_AGE_SECS, "{problem}");
    assert_eq!(
        problem["detail"], "A stronger authentication is required",
        "{problem}"
    );
    service.assert_balances(&writer.access, START).await;

    // The user proves the authenticator at Portcullis; the retry with the new token succeeds.
    let elevated = step_up_with_totp(&app, &writer.access, &totp).await;
    let done = service
        .transfer(Some(&elevated), &payroll_top_up())
        .await
        .expect(201)
        .json();
    assert_eq!(done["by"], id.as_str(), "{done}");
    assert_eq!(done["acr"], TRANSFER_ACR, "{done}");
    assert!(
        done["amr"].as_array().unwrap().contains(&json!("otp")),
        "{done}"
    );
    assert_eq!(
        done["from"],
        json!({ "id": "reserve", "balance_cents": 995_000 })
    );
    assert_eq!(
        done["to"],
        json!({ "id": "payroll", "balance_cents": 45_000 })
    );
    service.assert_balances(&elevated, MOVED).await;

    // The ledger's own rules still apply behind the guard.
    let overdraft = json!({ "from": "payroll", "to": "reserve", "amount_cents": 45_001 });
    service
        .transfer(Some(&elevated), &overdraft)
        .await
        .expect(409);
    service.assert_balances(&elevated, MOVED).await;

    // Past the ledger's max_age, the same token is challenged again, now for freshness;
    // reading, which has no max_age, still works and nothing moved.
    skew.store(TRANSFER_MAX_AGE_SECS + 1, Ordering::SeqCst);
    let stale = service.transfer(Some(&elevated), &payroll_top_up()).await;
    let problem = stale.problem(401, Some("step-up-required"));
    assert_step_up_challenge(&stale);
    assert_eq!(
        problem["detail"], "A more recent authentication is required",
        "{problem}"
    );
    service.assert_balances(&elevated, MOVED).await;
}

/// Balances of the demo ledger before any transfer, in `GET /accounts` order.
const START: [(&str, u64); 3] = [
    ("operating", 250_000),
    ("payroll", 40_000),
    ("reserve", 1_000_000),
];
/// …and after [`payroll_top_up`].
const MOVED: [(&str, u64); 3] = [
    ("operating", 250_000),
    ("payroll", 45_000),
    ("reserve", 995_000),
];

/// The transfer the user is after: 50.00 from the reserve to payroll.
fn payroll_top_up() -> Value {
    json!({ "from": "reserve", "to": "payroll", "amount_cents": 5_000 })
}

/// The example's ledger, served on port 0 behind a guard trusting `app`.
struct LedgerService<'a> {
    app: &'a TestApp,
    base: String,
}

impl<'a> LedgerService<'a> {
    /// Builds the guard as the example's `main` does (issuer, audience, JWKS of `app`), with
    /// a clock `skew` seconds ahead, and serves the example's router with it.
    async fn spawn(app: &'a TestApp, skew: Arc<AtomicI64>) -> Self {
        let guard = Guard::new(GuardConfig::new(
            app.base.clone(),
            AUDIENCE,
            format!("{}/.well-known/jwks.json", app.base),
        ))
        .unwrap()
        .with_clock(move || unix_now() + skew.load(Ordering::SeqCst));
        let router = ledger::router(&guard, Ledger::demo());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            app,
            base: format!("http://{addr}"),
        }
    }

    async fn health(&self) -> Reply {
        let req = self.app.client.get(format!("{}/health", self.base));
        self.app.send(req).await
    }

    async fn accounts(&self, token: Option<&str>) -> Reply {
        let req = self.app.client.get(format!("{}/accounts", self.base));
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        self.app.send(req).await
    }

    async fn transfer(&self, token: Option<&str>, body: &Value) -> Reply {
        let req = self
            .app
            .client
            .post(format!("{}/transfers", self.base))
            .json(body);
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        self.app.send(req).await
    }

    async fn assert_balances(&self, token: &str, expected: [(&str, u64); 3]) {
        let listed = self.accounts(Some(token)).await.expect(200).json();
        assert_eq!(balances(&listed), expected, "{listed}");
    }
}

/// `(id, balance_cents)` of each account in a `GET /accounts` body.
fn balances(listed: &Value) -> Vec<(&str, u64)> {
    listed["accounts"]
        .as_array()
        .unwrap_or_else(|| panic!("no accounts in {listed}"))
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap(),
                a["balance_cents"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn assert_insufficient_scope(reply: &Reply) {
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge:?}"
    );
}

/// An RFC 9470 challenge naming the ledger's `acr` and `max_age`.
fn assert_step_up_challenge(reply: &Reply) {
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge:?}"
    );
    assert!(
        challenge.contains(&format!("acr_values=\"{TRANSFER_ACR}\"")),
        "{challenge:?}"
    );
    assert!(
        challenge.contains(&format!("max_age={TRANSFER_MAX_AGE_SECS}")),
        "{challenge:?}"
    );
}

/// Enrols and confirms an authenticator app for the session of `access`; returns its secret.
async fn enrol_totp(app: &TestApp, access: &str) -> TotpSecret {
    let enrol = app
        .post(
            "/v1/me/factors/totp",
            Some(access),
            &json!({ "label": "phone" }),
        )
        .await
        .expect(201)
        .json();
    let secret = TotpSecret::from_bytes(base32_decode(enrol["secret"].as_str().unwrap())).unwrap();
    let factor = enrol["id"].as_str().unwrap();
    let code = secret.code_at(unix_now()).unwrap();
    let confirmed = app
        .post(
            &format!("/v1/me/factors/{factor}/confirm"),
            Some(access),
            &json!({ "code": code }),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(confirmed["confirmed"], true, "{confirmed}");
    secret
}

/// Steps the session of `access` up at Portcullis with a TOTP code; returns the new access
/// token.
async fn step_up_with_totp(app: &TestApp, access: &str, secret: &TotpSecret) -> String {
    let step = app
        .post("/v1/sessions/current/step-up", Some(access), &json!({}))
        .await
        .expect(202)
        .json();
    assert!(
        step["factors"].as_array().unwrap().contains(&json!("totp")),
        "{step}"
    );
    let id = step["challenge_id"].as_str().unwrap();
    // The confirmation spent the current step's code; the next step's is within the
    // one-step drift the server allows.
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

/// RFC 4648 base32 (upper case, padding optional), as the enrolment shows the secret.
fn base32_decode(text: &str) -> Vec<u8> {
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

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// The example subscribes to Portcullis's webhooks: a registration at Portcullis creates the
/// ledger's local account without polling, from a delivery whose signature and timestamp the
/// example verified; a forged or stale delivery changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_creates_its_local_account_when_someone_registers() {
    let app = TestApp::builder().file_mail().spawn().await;
    let admin_email = unique_email("ledger-admin");
    let admin_password = strong_password();
    let admin = app.register_active(&admin_email, &admin_password).await;
    app.make_admin(&admin).await;
    let admin = app.login(&admin_email, &admin_password).await.access;

    // The ledger's address first, then the subscription (as an operator would run
    // `portcullis webhook add --url …/webhooks/portcullis`), then the ledger with its secret.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let created = app
        .post(
            "/v1/admin/webhooks",
            Some(&admin),
            &json!({ "url": format!("{base}/webhooks/portcullis"), "events": ["account.created", "account.deleted"] }),
        )
        .await;
    let secret = created.expect(201).json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscriber = local_accounts::Subscriber::new(&secret, unix_now).unwrap();
    let ledger = subscriber.clone();
    tokio::spawn(async move {
        axum::serve(listener, local_accounts::router(subscriber))
            .await
            .unwrap()
    });

    let email = unique_email("ledger-newcomer");
    let id = app
        .register(&email, &strong_password())
        .await
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = std::time::Instant::now();
    while ledger.list().is_empty() {
        assert!(
            start.elapsed().as_secs() < 30,
            "no local account after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listed = app
        .send(app.client.get(format!("{base}/local-accounts")))
        .await
        .expect(200)
        .json();
    assert_eq!(
        listed,
        json!([{ "id": id, "email": email, "status": "pending", "roles": [] }])
    );

    // A delivery not signed with the secret, or signed too long ago, is refused.
    let body = json!({ "type": "account.created", "timestamp": "2026-01-01T00:00:00Z",
        "data": { "id": "forged", "email": "mallory@example.com", "status": "active", "roles": ["admin"] } })
    .to_string();
    let now = unix_now();
    let sign = |secret: &str, ts: i64| {
        use base64::Engine as _;
        use hmac::Mac as _;
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("msg_forged.{ts}.{body}").as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    };
    for (signature, ts) in [
        (sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now), now),
        (sign(&secret, now - 6 * 60), now - 6 * 60),
    ] {
        let req = app
            .client
            .post(format!("{base}/webhooks/portcullis"))
            .header("webhook-id", "msg_forged")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body.clone());
        app.send(req).await.expect(401);
    }
    // Signed correctly and now: accepted (so the refusals above were the signature and the
    // timestamp, not the shape of the request).
    let req = app
        .client
        .post(format!("{base}/webhooks/portcullis"))
        .header("webhook-id", "msg_forged")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", sign(&secret, now))
        .body(body.clone());
    app.send(req).await.expect(204);
    assert_eq!(ledger.list().len(), 2);
}
