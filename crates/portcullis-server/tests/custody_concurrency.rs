//! The nonce manager under load: 20 sends from one wallet at once, on one node (SQLite and
//! PostgreSQL) and spread over two nodes sharing one PostgreSQL database. Every send is
//! accepted and mined, and the nonces are exactly 0..20: none reused, none skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use alloy::node_bindings::AnvilInstance;
use portcullis_chain::{Address, U256};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use support::chain::{CHAIN_ID, anvil, chain_of, eth, funded, pay};
use support::factors::{enrol_totp, step_up_with_totp};
use support::{Backend, TestApp, strong_password, unique_email};

const SENDS: usize = 20;

fn builder(backend: Backend, node: &AnvilInstance) -> support::Builder {
    let url = node.endpoint();
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(move |c| {
            c.chain.rpc_url = Some(url.into());
            c.chain.chain_id = Some(CHAIN_ID);
            c.custody.follow_interval = Duration::from_millis(100);
            c.rate_limit.per_ip_per_minute = 100_000;
            c.rate_limit.per_account_per_minute = 100_000;
        })
}

/// A user with a stepped-up token, an API key, and a funded wallet: (key, token, wallet id,
/// password).
async fn funded_wallet(app: &TestApp, node: &AnvilInstance) -> (String, String, String, String) {
    let (admin_email, admin_pw) = (unique_email("conc-admin"), strong_password());
    let admin_id = app.register_active(&admin_email, &admin_pw).await;
    app.make_admin(&admin_id).await;
    let admin = app.login(&admin_email, &admin_pw).await.access;
    let key = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            &json!({"name": "load", "scopes": ["wallets:read", "wallets:create", "wallets:send"],
                    "rate_per_minute": 100000}),
        )
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (email, password) = (unique_email("conc"), strong_password());
    app.register_active(&email, &password).await;
    let token = app.login(&email, &password).await.access;
    let (_, totp) = enrol_totp(app, &token).await;
    let token = step_up_with_totp(app, &token, &totp).await;
    let req = app
        .request(reqwest::Method::POST, "/v1/wallets", Some(&token))
        .header("x-api-key", &key)
        .json(&json!({"password": password}));
    let wallet = app.send(req).await.expect(201).json();
    let address = wallet["address"].as_str().unwrap().to_owned();
    pay(&chain_of(node), &funded(node, 0), &address, eth(5)).await;
    (
        key,
        token,
        wallet["id"].as_str().unwrap().to_owned(),
        password,
    )
}

/// Sends `SENDS` transfers at once, round-robin over `apps`; waits until all are mined and
/// checks the nonces.
async fn concurrent_sends(
    apps: &[&TestApp],
    node: &AnvilInstance,
    key: &str,
    token: &str,
    wallet: &str,
    password: &str,
) {
    let recipient = Address::repeat_byte(0x77);
    let value = U256::from(10u64).pow(U256::from(15u64));
    let path = format!("/v1/wallets/{wallet}/transactions");
    let body =
        json!({"to": recipient.to_string(), "value": value.to_string(), "password": password});
    let sends = (0..SENDS).map(|i| {
        let app = apps[i % apps.len()];
        let req = app
            .request(reqwest::Method::POST, &path, Some(token))
            .header("x-api-key", key)
            .json(&body);
        async move { app.send(req).await }
    });
    let replies = futures_util::future::join_all(sends).await;
    let mut nonces = BTreeSet::new();
    for reply in &replies {
        let sent = reply.expect(202).json();
        assert!(
            nonces.insert(sent["nonce"].as_i64().unwrap()),
            "a nonce was reused: {sent}"
        );
    }
    let expected: BTreeSet<i64> = (0..SENDS as i64).collect();
    assert_eq!(nonces, expected, "nonces are consecutive from 0");

    // Every one mined.
    let mut listed = Value::Null;
    for _ in 0..300 {
        let req = apps[0]
            .request(
                reqwest::Method::GET,
                &format!("{path}?limit=100"),
                Some(token),
            )
            .header("x-api-key", key);
        listed = apps[0].send(req).await.expect(200).json();
        let all = listed.as_array().unwrap();
        if all.len() == SENDS && all.iter().all(|s| s["status"] == "mined") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = listed.as_array().unwrap();
    assert_eq!(all.len(), SENDS);
    assert!(all.iter().all(|s| s["status"] == "mined"), "{listed}");
    let chain = chain_of(node);
    let from = apps[0]
        .send(
            apps[0]
                .request(
                    reqwest::Method::GET,
                    &format!("/v1/wallets/{wallet}"),
                    Some(token),
                )
                .header("x-api-key", key),
        )
        .await
        .json()["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(chain.pending_nonce(from).await.unwrap(), SENDS as u64);
    assert_eq!(
        chain.balance(recipient).await.unwrap().wei,
        value * U256::from(SENDS as u64)
    );
}

async fn one_node(backend: Backend) {
    let node = anvil();
    let app = builder(backend, &node).spawn().await;
    let (key, token, wallet, password) = funded_wallet(&app, &node).await;
    concurrent_sends(&[&app], &node, &key, &token, &wallet, &password).await;
}

#[tokio::test]
async fn twenty_concurrent_sends_on_sqlite() {
    one_node(Backend::Sqlite).await;
}

#[tokio::test]
async fn twenty_concurrent_sends_on_postgres() {
    one_node(Backend::Postgres).await;
}

#[tokio::test]
async fn twenty_concurrent_sends_over_two_nodes_on_one_postgres() {
    let node = anvil();
    let first = builder(Backend::Postgres, &node).spawn().await;
    let second = builder(Backend::Postgres, &node).join(&first).spawn().await;
    let (key, token, wallet, password) = funded_wallet(&first, &node).await;
    concurrent_sends(&[&first, &second], &node, &key, &token, &wallet, &password).await;
}
