//! Interoperability of the wallet login with third-party libraries only
//! (`tests/interop/wallet_client.py`): eth-account signs the Sign-In with Ethereum message
//! and the session key delegation, PyJWT signs the DPoP proofs with a `cryptography`
//! Ed25519 key; the client logs in, calls with proofs, and its token alone is refused.
//! The other way round, eth-account recovers our signatures to the right address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::eth;
use serde_json::{Value, json};
use support::{TestApp, require_env, strong_password, unique_email};

/// Hardhat's published development key #0 and its address.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

async fn client(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = format!(
        "{}/wallet_client.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(&script)
        .args(args)
        .env("NO_PROXY", "*")
        .env("no_proxy", "*");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn our_signature(text: &str) -> String {
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(KEY_0).unwrap()).unwrap();
    eth::sign(&key, text.as_bytes()).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_account_and_pyjwt_log_in_with_a_wallet() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("eth-account");
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
    let message = started["message"].as_str().unwrap();

    // Our signature of the enrolment message recovers, in eth-account, to the wallet.
    let ours = our_signature(message);
    let (code, stdout, stderr) =
        client(&["recover", "--text", message, "--signature", &ours], &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), ADDRESS_0);
    let id = started["factor"]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{id}/confirm"),
        Some(&t.access),
        &json!({ "code": ours }),
    )
    .await
    .expect(200);

    let (code, stdout, stderr) = client(
        &[
            "login",
            "--base",
            &app.base,
            "--email",
            &email,
            "--password-env",
            "WALLET_TEST_PASSWORD",
            "--key-env",
            "WALLET_TEST_KEY",
        ],
        &[
            ("WALLET_TEST_PASSWORD", password.as_str()),
            ("WALLET_TEST_KEY", KEY_0),
        ],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["token_type"], "DPoP", "{result}");
    assert_eq!(result["cnf"]["jkt"], result["jkt"], "{result}");
    assert_eq!(result["calls"], json!([200, 200, 200]), "{result}");
    assert_eq!(result["stolen"], 401, "{result}");
}
