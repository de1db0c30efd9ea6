//! DPoP-bound (wallet session) tokens at the guard, in process: a good proof passes; the
//! token alone, a proof by another key, for another method or path, a replayed one, one
//! without the guard's nonce, and a bound token sent as a bearer token are refused with a
//! `DPoP` challenge and a fresh `DPoP-Nonce`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use common::{Issuer, NOW, claims};
use portcullis_core::token::Confirmation;
use portcullis_core::token::dpop::{ProofClaims, SessionSigner, ath};
use portcullis_guard::{Guard, GuardLayer, Requirement, Verified};
use tower::ServiceExt as _;

const ORIGIN: &str = "https://orders.example";

fn app(guard: &Guard) -> Router {
    Router::new()
        .route(
            "/orders",
            get(|v: Verified| async move { v.sub.clone() })
                .post(|v: Verified| async move { v.sub.clone() }),
        )
        .route("/other", post(|v: Verified| async move { v.sub.clone() }))
        .route_layer(GuardLayer::new(guard.clone(), Requirement::authenticated()))
}

struct Answer {
    status: StatusCode,
    challenge: String,
    nonce: Option<String>,
    body: String,
}

async fn call(app: &Router, method: &str, path: &str, auth: &str, proof: Option<&str>) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, auth);
    if let Some(p) = proof {
        request = request.header("dpop", p);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, nonce) = (
        response.status(),
        text("www-authenticate").unwrap_or_default(),
        text("dpop-nonce"),
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    Answer {
        status,
        challenge,
        nonce,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn proof(
    key: &SessionSigner,
    method: &str,
    url: &str,
    token: &str,
    nonce: Option<&str>,
    jti: &str,
) -> String {
    key.proof(&ProofClaims {
        jti: jti.into(),
        htm: method.into(),
        htu: url.into(),
        iat: NOW,
        nonce: nonce.map(str::to_owned),
        ath: Some(ath(token)),
    })
}

#[tokio::test]
async fn bound_tokens_need_a_proof_by_their_key_for_this_request() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard_with(issuer.config().public_origin(ORIGIN));
    let app = app(&guard);
    let key = SessionSigner::ed25519_from_bytes(&[5; 32]);
    let mut c = claims();
    c.cnf = Some(Confirmation {
        jkt: key.public().thumbprint(),
    });
    let token = issuer.sign(&c);
    let dpop = format!("DPoP {token}");
    let url = format!("{ORIGIN}/orders");

    // Without a nonce: told to use one, and given one.
    let first = call(
        &app,
        "GET",
        "/orders",
        &dpop,
        Some(&proof(&key, "GET", &url, &token, None, "a")),
    )
    .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert!(
        first.challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{}",
        first.challenge
    );
    assert!(first.body.contains("use-dpop-nonce"), "{}", first.body);
    let nonce = first.nonce.unwrap();

    let good = proof(&key, "GET", &url, &token, Some(&nonce), "b");
    let ok = call(&app, "GET", "/orders", &dpop, Some(&good)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body, c.sub);
    // A second request, the token now cached: its proof is still checked.
    let replay = call(&app, "GET", "/orders", &dpop, Some(&good)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(
        replay.challenge.contains("invalid_dpop_proof"),
        "{}",
        replay.challenge
    );
    assert!(replay.nonce.is_some());
    let again = proof(&key, "GET", &url, &token, Some(&nonce), "c");
    assert_eq!(
        call(&app, "GET", "/orders", &dpop, Some(&again))
            .await
            .status,
        StatusCode::OK
    );

    let refused = |a: Answer, why: &str| {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{why}: {}", a.body);
        assert!(a.challenge.starts_with("DPoP "), "{why}: {}", a.challenge);
        assert!(a.body.contains("dpop"), "{why}: {}", a.body);
    };
    // The stolen token with a proof by the thief's key.
    let thief = SessionSigner::ed25519_from_bytes(&[6; 32]);
    refused(
        call(
            &app,
            "GET",
            "/orders",
            &dpop,
            Some(&proof(&thief, "GET", &url, &token, Some(&nonce), "d")),
        )
        .await,
        "thief",
    );
    // For another method, another path, another origin.
    refused(
        call(
            &app,
            "POST",
            "/orders",
            &dpop,
            Some(&proof(&key, "GET", &url, &token, Some(&nonce), "e")),
        )
        .await,
        "method",
    );
    refused(
        call(
            &app,
            "POST",
            "/other",
            &dpop,
            Some(&proof(&key, "POST", &url, &token, Some(&nonce), "f")),
        )
        .await,
        "path",
    );
    let elsewhere = "https://auth.example/orders";
    refused(
        call(
            &app,
            "GET",
            "/orders",
            &dpop,
            Some(&proof(&key, "GET", elsewhere, &token, Some(&nonce), "g")),
        )
        .await,
        "origin",
    );
    // No proof at all, and the bound token as a bearer token.
    refused(call(&app, "GET", "/orders", &dpop, None).await, "no proof");
    let bearer = call(&app, "GET", "/orders", &format!("Bearer {token}"), None).await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED);
    assert!(
        bearer.challenge.contains("invalid_token"),
        "{}",
        bearer.challenge
    );
    // A nonce of another guard.
    let other = issuer.guard_with(issuer.config().public_origin(ORIGIN));
    let foreign = other.dpop_nonce();
    refused(
        call(
            &app,
            "GET",
            "/orders",
            &dpop,
            Some(&proof(&key, "GET", &url, &token, Some(&foreign), "h")),
        )
        .await,
        "foreign nonce",
    );

    // An unbound token under the DPoP scheme is refused; as a bearer token it passes.
    let plain = issuer.sign(&claims());
    refused(
        call(
            &app,
            "GET",
            "/orders",
            &format!("DPoP {plain}"),
            Some(&good),
        )
        .await,
        "unbound",
    );
    assert_eq!(
        call(&app, "GET", "/orders", &format!("Bearer {plain}"), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_guard_inside_a_nested_router_checks_the_path_the_client_called() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard_with(issuer.config().public_origin(ORIGIN));
    let app = Router::new().nest("/v2", app(&guard));
    let key = SessionSigner::ed25519_from_bytes(&[5; 32]);
    let mut c = claims();
    c.cnf = Some(Confirmation {
        jkt: key.public().thumbprint(),
    });
    let token = issuer.sign(&c);
    let dpop = format!("DPoP {token}");
    let nonce = guard.dpop_nonce();
    let full = format!("{ORIGIN}/v2/orders");
    let ok = call(
        &app,
        "GET",
        "/v2/orders",
        &dpop,
        Some(&proof(&key, "GET", &full, &token, Some(&nonce), "n1")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A proof for the path without the prefix is for another URI.
    let inner = format!("{ORIGIN}/orders");
    let refused = call(
        &app,
        "GET",
        "/v2/orders",
        &dpop,
        Some(&proof(&key, "GET", &inner, &token, Some(&nonce), "n2")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
