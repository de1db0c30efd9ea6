//! A third-party library checks what custodial wallets produce: eth-account
//! (`tests/interop/custody_check.py`) recovers our EIP-191 signature to the wallet's address
//! and decodes the transactions we sent (read back from the node as raw bytes): EIP-1559,
//! signed by the wallet, with the recipient, value, data, nonce and chain id we were asked
//! for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use alloy::providers::Provider as _;
use portcullis_chain::TxHash;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Write as _;
use std::process::{Command, Stdio};
use support::chain::{CHAIN_ID, anvil, chain_of};
use support::custody::{Front, builder};
use support::{Backend, require_env};

fn eth_account_check(job: &Value) -> Value {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = format!(
        "{}/custody_check.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "eth-account refused: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[tokio::test]
async fn eth_account_verifies_our_signatures_and_decodes_our_transactions() {
    let node = anvil();
    let chain = chain_of(&node);
    let app = builder(Backend::Sqlite, &node).spawn().await;
    let front = Front::new(&app, &node).await;

    let message = "dapp.example wants you to sign in with your Ethereum account:\nNonce: 4f1c9a";
    let signed = front
        .call(
            &app,
            Method::POST,
            &front.path("/signatures"),
            Some(&json!({"message": message, "password": front.password})),
        )
        .await
        .expect(200)
        .json();

    let orders = [
        ("0x00000000000000000000000000000000000000aa", "1000", None),
        (
            "0x00000000000000000000000000000000000000bb",
            "2500000000000000",
            Some("0xdeadbeef"),
        ),
    ];
    for (to, value, data) in orders {
        let mut body = front.order(to, value);
        if let Some(d) = data {
            body["data"] = json!(d);
        }
        front
            .call(
                &app,
                Method::POST,
                &front.path("/transactions"),
                Some(&body),
            )
            .await
            .expect(202);
    }
    let sends = front.settled_sends(&app).await;
    let mut transactions = Vec::new();
    for send in sends.iter().rev() {
        assert_eq!(send["status"], "mined", "{send}");
        let hash: TxHash = send["tx_hash"].as_str().unwrap().parse().unwrap();
        let raw = chain
            .provider()
            .get_raw_transaction_by_hash(hash)
            .await
            .unwrap()
            .expect("the node has the transaction");
        let data = orders
            .iter()
            .find(|(to, _, _)| send["to"].as_str().unwrap().eq_ignore_ascii_case(to))
            .and_then(|(_, _, d)| *d)
            .unwrap_or("0x");
        transactions.push(json!({
            "raw": format!("0x{}", hex::encode(&raw)),
            "to": send["to"],
            "value": send["value"],
            "nonce": send["nonce"],
            "chain_id": CHAIN_ID,
            "data": data,
        }));
    }
    assert_eq!(transactions.len(), 2);
    let verdict = eth_account_check(&json!({
        "address": front.address,
        "message": message,
        "signature": signed["signature"],
        "transactions": transactions,
    }));
    assert_eq!(verdict, json!({"ok": true, "checked": 2}));

    // The checker is not a rubber stamp: another message does not verify.
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = format!(
        "{}/custody_check.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let job = json!({"address": front.address, "message": "something else",
                     "signature": signed["signature"], "transactions": []});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    assert!(!child.wait().unwrap().success());
}
