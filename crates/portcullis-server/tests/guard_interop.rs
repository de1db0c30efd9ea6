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

    let guard = Guard::new(GuardConfig::new(
        app.base.clone(),
        "portcullis",
        format!("{}/.well-known/jwks.json", app.base),
    ))
    .unwrap();
    let base = ledger(&guard).await;
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

    let guard = Guard::new(GuardConfig::new(
        app.base.clone(),
        "portcullis",
        format!("{}/.well-known/jwks.json", app.base),
    ))
    .unwrap();
    let base = ledger(&guard).await;
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
