//! The guard crate in front of a downstream service, against a real Portcullis: tokens verify
//! offline from our JWKS, a sensitive route answers an RFC 9470 challenge, the client steps up
//! at Portcullis and the retry succeeds; a revoked session is refused at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::Router;
use axum::routing::{get, post};
use portcullis_guard::{Guard, GuardConfig, GuardLayer, Requirement, Verified};
use serde_json::json;
use support::{TestApp, strong_password, unique_email};

async fn ledger(guard: &Guard) -> String {
    let app = Router::new()
        .route(
            "/accounts",
            get(|v: Verified| async move { v.claims().sub.clone() }),
        )
        .route_layer(GuardLayer::new(guard.clone(), Requirement::authenticated()))
        .merge(
            Router::new()
                .route("/transfers", post(|| async { "sent" }))
                .route_layer(GuardLayer::new(
                    guard.clone(),
                    Requirement::authenticated().acr("aal2").max_age(300),
                )),
        )
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A guard for tokens of `app` (audience `portcullis`) in front of [`ledger`]; the guard and
/// the ledger's base URL.
async fn guarded_ledger(app: &TestApp) -> (Guard, String) {
    let guard = Guard::new(GuardConfig::new(
        app.base.clone(),
        "portcullis",
        format!("{}/.well-known/jwks.json", app.base),
    ))
    .unwrap();
    let base = ledger(&guard).await;
    (guard, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_flow_through_the_guard() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("guarded");
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let codes = app
        .post("/v1/me/recovery-codes", Some(&tokens.access), &json!({}))
        .await
        .expect(201)
        .json();

    let (guard, base) = guarded_ledger(&app).await;
    let http = reqwest::Client::new();

    // Any valid token reads; no token or a forged one does not.
    let r = http
        .get(format!("{base}/accounts"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), id);
    let r = http.get(format!("{base}/accounts")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let mut forged = tokens.access.clone();
    forged.push('x');
    let r = http
        .get(format!("{base}/accounts"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The sensitive route asks for more (RFC 9470).
    let r = http
        .post(format!("{base}/transfers"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("acr_values=\"aal2\""), "{challenge}");

    // The client proves a second factor at Portcullis and retries with the new token.
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&tokens.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    let cid = step["challenge_id"].as_str().unwrap();
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{cid}"),
            Some(&tokens.access),
            &json!({ "factor": "recovery_code", "code": codes["codes"][0] }),
        )
        .await
        .expect(200)
        .json();
    let elevated = stepped["access_token"].as_str().unwrap();
    let r = http
        .post(format!("{base}/transfers"))
        .bearer_auth(elevated)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "sent");

    // Revoking the session (what the revocation feed will do) stops its tokens at once,
    // cached or not.
    guard.revoke_session(&tokens.session_id);
    let r = http
        .get(format!("{base}/accounts"))
        .bearer_auth(elevated)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_at_portcullis_reaches_the_guard_within_a_second() {
    let app = TestApp::builder().file_mail().spawn().await;
    let password = strong_password();
    let user = unique_email("feed-user");
    app.register_active(&user, &password).await;
    let tokens = app.login(&user, &password).await;
    let service = app.service_caller().await;

    let (guard, base) = guarded_ledger(&app).await;
    let feed = guard.spawn_revocation_feed(
        format!("{}/v1/revocations", app.base),
        service,
        std::time::Duration::from_millis(200),
    );
    let http = reqwest::Client::new();
    let accounts = || {
        http.get(format!("{base}/accounts"))
            .bearer_auth(&tokens.access)
            .send()
    };
    assert_eq!(
        accounts().await.unwrap().status(),
        200,
        "verified and now cached"
    );

    // The user logs out at Portcullis; the guard never sees that request.
    app.delete("/v1/sessions/current", Some(&tokens.access), None)
        .await
        .expect(204);
    let started = std::time::Instant::now();
    loop {
        if accounts().await.unwrap().status() == 401 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    feed.abort();

    // The feed itself is for services only.
    let other = app.login(&user, &password).await;
    app.get("/v1/revocations", Some(&other.access))
        .await
        .problem(403, Some("forbidden"));
    app.get("/v1/revocations?limit=0", Some(&app.service_caller().await))
        .await
        .problem(400, Some("invalid-query"));
}

/// A guard reads the feed as a service account: it gets its own token with the
/// client-credentials grant and renews it, so revocations keep reaching it after the first
/// token has expired (a fixed token would leave the guard deaf from then on). Only a client
/// allowed `portcullis:revocations` may read the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_reading_the_feed_as_a_service_account_outlives_its_tokens() {
    const TTL_SECS: u64 = 3;
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.tokens.access_ttl = std::time::Duration::from_secs(TTL_SECS);
            c.tokens.leeway = std::time::Duration::from_secs(0);
        })
        .spawn()
        .await;
    let state = &app.server().state;
    let reader = portcullis_server::services::clients::create(
        state,
        "ledger-feed",
        vec![portcullis_guard::REVOCATIONS_SCOPE.to_owned()],
        "test",
    )
    .await
    .unwrap();
    let (client_id, client_secret) = (reader.record.id, reader.secret.expose().to_owned());
    let other = portcullis_server::services::clients::create(
        state,
        "introspector",
        vec!["portcullis:introspect".to_owned()],
        "test",
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let client_token = |id: String, secret: String| {
        let http = http.clone();
        let url = format!("{}/v1/oauth/token", app.base);
        async move {
            let answer: serde_json::Value = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["access_token"].as_str().unwrap().to_owned()
        }
    };
    // The feed takes the reader's token, not one without the scope.
    let first = client_token(client_id.clone(), client_secret.clone()).await;
    app.get("/v1/revocations", Some(&first)).await.expect(200);
    let without = client_token(other.record.id.clone(), other.secret.expose().to_owned()).await;
    app.get("/v1/revocations", Some(&without))
        .await
        .problem(403, Some("forbidden"));

    let (guard, base) = guarded_ledger(&app).await;
    let feed = guard.spawn_revocation_feed(
        format!("{}/v1/revocations", app.base),
        portcullis_guard::FeedAuth::client_credentials(
            format!("{}/v1/oauth/token", app.base),
            client_id,
            client_secret,
        ),
        std::time::Duration::from_millis(200),
    );

    // Past the lifetime of every token the feed could have got at the start.
    tokio::time::sleep(std::time::Duration::from_secs(TTL_SECS * 2 + 1)).await;
    app.get("/v1/revocations", Some(&first))
        .await
        .problem(401, Some("unauthenticated"));

    let password = strong_password();
    let user = unique_email("feed-renewal");
    app.register_active(&user, &password).await;
    let tokens = app.login(&user, &password).await;
    let accounts = || {
        http.get(format!("{base}/accounts"))
            .bearer_auth(&tokens.access)
            .send()
    };
    assert_eq!(accounts().await.unwrap().status(), 200);
    app.delete("/v1/sessions/current", Some(&tokens.access), None)
        .await
        .expect(204);
    // The guard's leeway (30 s) keeps the user's token valid to it: only the feed refuses it.
    let started = std::time::Instant::now();
    while accounts().await.unwrap().status() != 401 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "the revocation did not reach the guard within 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    feed.abort();
}
