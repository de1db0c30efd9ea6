//! "Sign in with Ethereum" on the pages (issue 14, part 8) in a real headless Chromium with an
//! injected EIP-1193 provider backed by a known key (ethers v6): `tests/browser/wallet.js`.
//! The browser binds the wallet on `/security` (its signature of the binding message), signs
//! in with the password and the wallet, and a browser holding another key is told which to
//! use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::browser::{run_script, screenshot_dir};
use support::{TestApp, strong_password, unique_email};

/// Hardhat's published development keys #0 and #1.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_ethereum_wallet_signs_in_through_the_pages() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("siwe-browser");
    let password = strong_password();
    app.register_active(&email, &password).await;
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
        &[
            "wallet-bound",
            "wallet-picker",
            "wallet-signed-in",
            "wallet-other-account",
        ],
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
