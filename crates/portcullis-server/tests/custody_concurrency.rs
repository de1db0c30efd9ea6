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
use reqwest::Method;
use std::collections::BTreeSet;
use support::chain::{anvil, chain_of};
use support::custody::{Front, builder};
use support::{Backend, TestApp};

const SENDS: usize = 20;

/// Sends `SENDS` transfers at once, round-robin over `apps`; waits until all are mined and
/// checks the nonces.
async fn concurrent_sends(apps: &[&TestApp], node: &AnvilInstance, front: &Front) {
    let recipient = Address::repeat_byte(0x77);
    let value = U256::from(10u64).pow(U256::from(15u64));
    let path = front.path("/transactions");
    let body = front.order(&recipient.to_string(), &value.to_string());
    let sends =
        (0..SENDS).map(|i| front.call(apps[i % apps.len()], Method::POST, &path, Some(&body)));
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

    let all = front.settled_sends(apps[0]).await;
    assert_eq!(all.len(), SENDS);
    assert!(all.iter().all(|s| s["status"] == "mined"), "{all:?}");
    let chain = chain_of(node);
    let from: Address = front.address.parse().unwrap();
    assert_eq!(chain.pending_nonce(from).await.unwrap(), SENDS as u64);
    assert_eq!(
        chain.balance(recipient).await.unwrap().wei,
        value * U256::from(SENDS as u64)
    );
}

async fn one_node(backend: Backend) {
    let node = anvil();
    let app = builder(backend, &node).spawn().await;
    let front = Front::new(&app, &node).await;
    concurrent_sends(&[&app], &node, &front).await;
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
    let front = Front::new(&first, &node).await;
    concurrent_sends(&[&first, &second], &node, &front).await;
}
