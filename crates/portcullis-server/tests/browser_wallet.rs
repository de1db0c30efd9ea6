//! "Sign in with Ethereum" on the pages (issue 14, part 8) in a real headless Chromium with an
//! injected EIP-1193 provider backed by a known key (ethers v6): `tests/browser/wallet.js`.
//! The account and its wallet are set up over the API first; the browser then signs in with
//! the password and the wallet, and a browser holding another key is told which to use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::eth;
use serde_json::json;
use support::browser::{run_script, screenshot_dir};
use support::{TestApp, strong_password, unique_email};

/// Hardhat's published development keys #0 and #1.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const KEY_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_ethereum_wallet_signs_in_through_the_pages() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("siwe-browser");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;
    let started = app
        .post(
            "/v1/me/factors/wallet",
            Some(&t.access),
            &json!({ "address": ADDRESS_0 }),
        )
        .await
        .expect(201)
        .json();
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(KEY_0).unwrap()).unwrap();
    let signature = eth::sign(&key, started["message"].as_str().unwrap().as_bytes()).unwrap();
    let id = started["factor"]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{id}/confirm"),
        Some(&t.access),
        &json!({ "code": signature.to_string() }),
    )
    .await
    .expect(200);

    run_script(
        &app,
        "wallet.js",
        &screenshot_dir("wallet"),
        &[
            &email,
            &password,
            &format!("0x{KEY_0}"),
            &format!("0x{KEY_1}"),
        ],
        &["wallet-picker", "wallet-signed-in", "wallet-other-account"],
    )
    .await;

    // The browser's session was a wallet session on the ledgers: the AuthNFT handed to the
    // issuer and burned, a ReqNFT minted (marked as held in cookies) and burned at sign-out,
    // and a fresh AuthNFT minted for the next sign-in.
    let req = app
        .get("/v1/ledgers/req/entries?from=0&limit=10", None)
        .await
        .expect(200)
        .json();
    assert_eq!(req.as_array().unwrap().len(), 2, "{req}");
    let auth = app
        .get("/v1/ledgers/auth/entries?from=0&limit=10", None)
        .await
        .expect(200)
        .json();
    // Enrolment mint, transfer, burn, fresh mint.
    assert_eq!(auth.as_array().unwrap().len(), 4, "{auth}");
}
