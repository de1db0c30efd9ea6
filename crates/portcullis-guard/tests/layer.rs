//! The layer and extractor end to end, in process: statuses, challenges (RFC 6750, RFC 9470)
//! and problem+json bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use common::{Issuer, NOW, claims};
use portcullis_core::token::AccessClaims;
use portcullis_guard::{Guard, GuardLayer, Requirement, Verified};
use tower::ServiceExt as _;

fn app(guard: &Guard) -> Router {
    let reports = Router::new()
        .route("/reports", get(|v: Verified| async move { v.sub.clone() }))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated().role("advisor"),
        ));
    let transfer = Router::new()
        .route("/transfer", get(|v: Verified| async move { v.acr.clone() }))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated().acr("aal2").max_age(300),
        ));
    Router::new()
        .route("/public", get(|| async { "hello" }))
        .route(
            "/unguarded",
            get(|v: Verified| async move { v.sub.clone() }),
        )
        .merge(reports)
        .merge(transfer)
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    body: String,
}

async fn call(app: &Router, path: &str, token: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, content_type) = (
        response.status(),
        text(header::WWW_AUTHENTICATE),
        text(header::CONTENT_TYPE),
    );
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    Answer {
        status,
        challenge,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn missing_and_invalid_tokens_get_a_bearer_challenge() {
    let issuer = Issuer::start().await;
    let app = app(&issuer.guard());
    assert_eq!(call(&app, "/public", None).await.status, StatusCode::OK);

    let missing = call(&app, "/reports", None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.challenge.as_deref(), Some("Bearer"));
    assert_eq!(
        missing.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = serde_json::from_str(&missing.body).unwrap();
    assert_eq!(problem["status"], 401);
    assert_eq!(
        problem["type"],
        "https://portcullis.dev/problems/unauthenticated"
    );

    let invalid = call(&app, "/reports", Some("not.a.token")).await;
    assert_eq!(invalid.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        invalid.challenge.as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"token is malformed\"")
    );

    // A handler that takes `Verified` without the layer fails closed.
    let token = issuer.sign(&claims());
    let unguarded = call(&app, "/unguarded", Some(&token)).await;
    assert_eq!(unguarded.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_missing_role_is_forbidden_and_the_role_lets_through() {
    let issuer = Issuer::start().await;
    let app = app(&issuer.guard());
    let client = issuer.sign(&claims());
    let denied = call(&app, "/reports", Some(&client)).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(
        denied
            .challenge
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\"")
    );
    assert_eq!(
        denied.content_type.as_deref(),
        Some("application/problem+json")
    );

    let advisor = issuer.sign(&AccessClaims {
        jti: "tok_adv".to_owned(),
        roles: vec!["advisor".to_owned()],
        ..claims()
    });
    let ok = call(&app, "/reports", Some(&advisor)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "acct_1"));
}

#[tokio::test]
async fn too_weak_or_too_old_an_authentication_asks_for_step_up() {
    let issuer = Issuer::start().await;
    let app = app(&issuer.guard());

    let weak = call(&app, "/transfer", Some(&issuer.sign(&claims()))).await;
    assert_eq!(weak.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        weak.challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"A stronger authentication is required\", \
             acr_values=\"aal2\", max_age=300"
        )
    );
    let problem: serde_json::Value = serde_json::from_str(&weak.body).unwrap();
    assert_eq!(
        problem["type"],
        "https://portcullis.dev/problems/step-up-required"
    );
    assert_eq!(problem["acr_values"], "aal2");
    assert_eq!(problem["max_age"], 300);

    let old = issuer.sign(&AccessClaims {
        jti: "tok_old".to_owned(),
        acr: "aal2".to_owned(),
        auth_time: NOW - 301,
        ..claims()
    });
    let old = call(&app, "/transfer", Some(&old)).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let challenge = old.challenge.unwrap();
    assert!(challenge.contains("error=\"insufficient_user_authentication\""));
    assert!(challenge.contains("A more recent authentication is required"));
    assert!(challenge.ends_with("max_age=300"));

    // After the step-up at Portcullis, the new token passes.
    let stepped_up = issuer.sign(&AccessClaims {
        jti: "tok_new".to_owned(),
        acr: "aal2".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        auth_time: NOW - 5,
        ..claims()
    });
    let ok = call(&app, "/transfer", Some(&stepped_up)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "aal2"));
}

#[tokio::test]
async fn no_key_set_answers_503() {
    let config = portcullis_guard::GuardConfig::new(
        common::ISS,
        common::AUD,
        "http://127.0.0.1:9/.well-known/jwks.json",
    );
    let app = app(&Guard::new(config).unwrap());
    let issuer = Issuer::start().await;
    let answer = call(&app, "/reports", Some(&issuer.sign(&claims()))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.challenge.is_none());
}
