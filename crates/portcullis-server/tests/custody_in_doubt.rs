//! A send whose broadcast is in doubt is neither lost nor doubled. Between Portcullis and the
//! node sits a proxy that can fail `eth_sendRawTransaction` with a 502, either without passing
//! it on (the node never saw it) or after passing it on (the node took it, the answer was
//! lost). Either way the send is answered 202 `unconfirmed` with its nonce, and the follower
//! takes it to `mined`: by sending the same bytes again in the first case, by finding the
//! receipt in the second. The nonces stay 0, 1 and the wallet's next send takes 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_chain::{Address, TxHash};
use reqwest::Method;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use support::Backend;
use support::chain::{anvil, chain_of};
use support::custody::{Front, builder_at};

const PASS: u8 = 0;
const SWALLOW: u8 = 1;
const LOSE_ANSWER: u8 = 2;

#[derive(Clone)]
struct Proxy {
    node: String,
    mode: Arc<AtomicU8>,
    http: reqwest::Client,
}

async fn relay(State(p): State<Proxy>, body: Bytes) -> Response {
    let broadcast = body
        .windows(b"eth_sendRawTransaction".len())
        .any(|w| w == b"eth_sendRawTransaction");
    let mode = if broadcast {
        p.mode.load(Ordering::SeqCst)
    } else {
        PASS
    };
    if mode == SWALLOW {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let answer = p
        .http
        .post(&p.node)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap();
    if mode == LOSE_ANSWER {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    (status, [("content-type", "application/json")], bytes).into_response()
}

async fn proxy(node: String) -> (String, Arc<AtomicU8>) {
    let mode = Arc::new(AtomicU8::new(PASS));
    let state = Proxy {
        node,
        mode: Arc::clone(&mode),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    let app = axum::Router::new()
        .route("/", axum::routing::post(relay))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, mode)
}

#[tokio::test]
async fn a_broadcast_in_doubt_is_sent_again_or_found_and_settles() {
    let node = anvil();
    let chain = chain_of(&node);
    let (url, mode) = proxy(node.endpoint()).await;
    let app = builder_at(Backend::Sqlite, url).spawn().await;
    let front = Front::new(&app, &node).await;
    let to = Address::repeat_byte(0x31).to_string();
    let sends = front.path("/transactions");

    // 1. The node never saw it: unconfirmed, then sent again by the follower.
    mode.store(SWALLOW, Ordering::SeqCst);
    let first = front
        .call(&app, Method::POST, &sends, Some(&front.order(&to, "1000")))
        .await
        .expect(202)
        .json();
    assert_eq!(first["status"], "unconfirmed", "{first}");
    assert_eq!(first["nonce"], 0);
    let hash: TxHash = first["tx_hash"].as_str().unwrap().parse().unwrap();
    assert!(!chain.knows(hash).await.unwrap(), "the node never got it");
    mode.store(PASS, Ordering::SeqCst);
    let settled = front.settled_sends(&app).await;
    assert_eq!(settled[0]["status"], "mined", "{settled:?}");
    assert!(chain.receipt(hash).await.unwrap().unwrap().success);

    // 2. The node took it but the answer was lost: unconfirmed, then found mined.
    mode.store(LOSE_ANSWER, Ordering::SeqCst);
    let second = front
        .call(&app, Method::POST, &sends, Some(&front.order(&to, "2000")))
        .await
        .expect(202)
        .json();
    assert_eq!(second["status"], "unconfirmed", "{second}");
    assert_eq!(second["nonce"], 1);
    mode.store(PASS, Ordering::SeqCst);
    let settled = front.settled_sends(&app).await;
    assert!(
        settled.iter().all(|s| s["status"] == "mined"),
        "{settled:?}"
    );

    // Nothing doubled: two transfers, and the next send takes nonce 2.
    let third = front
        .call(&app, Method::POST, &sends, Some(&front.order(&to, "3000")))
        .await
        .expect(202)
        .json();
    assert_eq!(third["nonce"], 2, "{third}");
    front.settled_sends(&app).await;
    assert_eq!(
        chain.balance(to.parse().unwrap()).await.unwrap().wei,
        portcullis_chain::U256::from(6000u64)
    );
}
