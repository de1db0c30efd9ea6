//! Binding a wallet to an account (issue 14, part 2), on SQLite and PostgreSQL: the message
//! to sign, the refusals (a bad address, another key's signature, a replay), the AuthNFT
//! minted to the address on the `auth` ledger at confirmation, a step-up with the wallet, and
//! the AuthNFT burned at removal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use portcullis_core::eth;
use serde_json::{Value, json};
use support::{Backend, TestApp, strong_password, unique_email};

/// Hardhat's published development key #0 and its address.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Hardhat's key #1.
const KEY_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn key(hex_key: &str) -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&hex::decode(hex_key).unwrap()).unwrap()
}

fn sign(hex_key: &str, text: &str) -> String {
    eth::sign(&key(hex_key), text.as_bytes())
        .unwrap()
        .to_string()
}

/// The `auth` ledger's entries, decoded.
async fn auth_entries(app: &TestApp) -> Vec<Value> {
    let entries = app
        .get("/v1/ledgers/auth/entries?from=0&limit=100", None)
        .await
        .expect(200)
        .json();
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let body = base64::engine::general_purpose::STANDARD
                .decode(e["body"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&body).unwrap()
        })
        .collect()
}

async fn wallet_enrolment(backend: Backend) {
    let app = TestApp::builder()
        .backend(backend)
        .file_mail()
        .spawn()
        .await;
    let email = unique_email("wallet");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;

    let bad = app
        .post(
            "/v1/me/factors/wallet",
            Some(&t.access),
            &json!({ "address": "0x1234" }),
        )
        .await
        .expect(400)
        .json();
    assert!(
        bad["type"]
            .as_str()
            .unwrap()
            .ends_with("invalid-wallet-address"),
        "{bad}"
    );

    let started = app
        .post(
            "/v1/me/factors/wallet",
            Some(&t.access),
            &json!({ "address": ADDRESS_0.to_lowercase() }),
        )
        .await
        .expect(201)
        .json();
    let message = started["message"].as_str().unwrap().to_owned();
    let id = started["factor"]["id"].as_str().unwrap().to_owned();
    assert_eq!(started["factor"]["confirmed"], false, "{started}");
    assert!(message.contains(" wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n"), "{message}");
    assert!(message.contains("\nChain ID: 1\n"), "{message}");
    assert!(
        auth_entries(&app).await.is_empty(),
        "nothing is minted before the signature"
    );

    // Another key's signature is refused with its reason, and the factor stays pending.
    let confirm = format!("/v1/me/factors/{id}/confirm");
    let refused = app
        .post(
            &confirm,
            Some(&t.access),
            &json!({ "code": sign(KEY_1, &message) }),
        )
        .await
        .expect(400)
        .json();
    assert!(
        refused["type"]
            .as_str()
            .unwrap()
            .ends_with("invalid-wallet-signature"),
        "{refused}"
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("another key"),
        "{refused}"
    );
    let garbage = app
        .post(
            &confirm,
            Some(&t.access),
            &json!({ "code": "0xnot-a-signature" }),
        )
        .await
        .expect(400)
        .json();
    assert!(
        garbage["type"]
            .as_str()
            .unwrap()
            .ends_with("invalid-wallet-signature"),
        "{garbage}"
    );
    assert!(auth_entries(&app).await.is_empty());

    let signature = sign(KEY_0, &message);
    let confirmed = app
        .post(&confirm, Some(&t.access), &json!({ "code": signature }))
        .await
        .expect(200)
        .json();
    assert_eq!(confirmed["kind"], "wallet", "{confirmed}");
    assert_eq!(confirmed["confirmed"], true, "{confirmed}");
    let minted = auth_entries(&app).await;
    assert_eq!(minted.len(), 1, "{minted:?}");
    let entry = minted[0].to_string();
    assert!(
        entry.contains("mint") && entry.contains(ADDRESS_0),
        "{entry}"
    );

    // The same signature again: the account now has a second factor, so any change to its
    // factors asks for a step-up first; either way nothing is minted.
    app.post(&confirm, Some(&t.access), &json!({ "code": signature }))
        .await
        .expect(401);
    assert_eq!(auth_entries(&app).await.len(), 1, "a replay mints nothing");

    // Step up with the wallet itself (a step-up spends no AuthNFT: it proves the wallet,
    // it does not start a wallet session).
    let pending = app
        .post("/v1/sessions/current/step-up", Some(&t.access), &json!({}))
        .await
        .expect(202)
        .json();
    assert!(
        pending["factors"].to_string().contains("wallet"),
        "{pending}"
    );
    let step = pending["challenge_id"].as_str().unwrap();
    let session_key = json!({"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let texts = app
        .post(
            &format!("/v1/sessions/current/step-up/{step}/wallet-message"),
            Some(&t.access),
            &json!({ "session_key": session_key }),
        )
        .await
        .expect(200)
        .json();
    let raised = app
        .post(
            &format!("/v1/sessions/current/step-up/{step}"),
            Some(&t.access),
            &json!({
                "factor": "wallet",
                "signature": sign(KEY_0, texts["message"].as_str().unwrap()),
                "delegation_signature": sign(KEY_0, texts["delegation"].as_str().unwrap()),
            }),
        )
        .await
        .expect(200)
        .json();
    let raised = raised["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        auth_entries(&app).await.len(),
        1,
        "a step-up spends nothing"
    );
    // The replay now reaches the confirmation, which finds no pending factor.
    app.post(&confirm, Some(&raised), &json!({ "code": signature }))
        .await
        .expect(404);
    // Removing the wallet burns its AuthNFT.
    app.delete(&format!("/v1/me/factors/{id}"), Some(&raised), None)
        .await
        .expect(204);
    let after = auth_entries(&app).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after[1].to_string().contains("burn"), "{after:?}");
}

#[tokio::test]
async fn wallet_enrolment_on_sqlite() {
    wallet_enrolment(Backend::Sqlite).await;
}

#[tokio::test]
async fn wallet_enrolment_on_postgres() {
    wallet_enrolment(Backend::Postgres).await;
}
