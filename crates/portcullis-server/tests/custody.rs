//! Custodial wallets end to end, on a spawned server and a real Ethereum node (anvil from
//! npm, started per test): a front-end application with an API key, for a signed-in user,
//! creates a wallet, sees it funded in its balance and history, is refused a send until the
//! session steps up with TOTP, sends ETH and follows it to its receipt, signs an EIP-191
//! message; every bad input is a clear problem and sends nothing. The key is in no data
//! file, audit record or line of the server's log (captured at `debug`), and the keyring
//! alone does not open it. Each flow runs on SQLite and on PostgreSQL. (Concurrent sends:
//! `custody_concurrency.rs`; third-party checks: `interop_custody.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test: a failure is a test failure"
)]

mod support;

use alloy::node_bindings::AnvilInstance;
use portcullis_chain::{Address, Chain, TxHash, U256};
use portcullis_core::password::{Argon2Params, Password, PasswordHasher};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::chain::{CHAIN_ID, anvil, chain_of, eth, funded, mined, pay};
use support::factors::{enrol_totp, step_up_with_totp};
use support::{Backend, Reply, TestApp, strong_password, unique_email};

const ALL_SCOPES: [&str; 4] = [
    "wallets:read",
    "wallets:create",
    "wallets:send",
    "wallets:sign",
];

async fn spawn(backend: Backend, node: &AnvilInstance) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| configure(c, node))
        .spawn()
        .await
}

fn configure(c: &mut portcullis_server::config::Config, node: &AnvilInstance) {
    c.chain.rpc_url = Some(node.endpoint().into());
    c.chain.chain_id = Some(CHAIN_ID);
    c.custody.per_transaction_wei = eth(10).to_string();
    c.custody.per_wallet_daily_wei = eth(7).to_string();
    c.custody.per_account_daily_wei = eth(20).to_string();
    c.custody.follow_interval = Duration::from_millis(100);
}

/// An API key with `scopes`, made by an administrator.
async fn api_key(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let (email, password) = (unique_email("custody-admin"), strong_password());
    let id = app.register_active(&email, &password).await;
    app.make_admin(&id).await;
    let admin = app.login(&email, &password).await.access;
    let created = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            &json!({"name": "Wallet front", "scopes": scopes}),
        )
        .await
        .expect(201)
        .json();
    (
        created["key"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    )
}

/// A call as the front-end makes it: the API key and the user's token.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    token: &str,
    body: Option<&Value>,
) -> Reply {
    let mut req = app.request(method, path, Some(token));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    app.send(req).await
}

/// Waits until the send `id` of `wallet` is no longer pending; returns it.
async fn settled(app: &TestApp, key: &str, token: &str, wallet: &str, id: &str) -> Value {
    for _ in 0..200 {
        let send = call(
            app,
            Method::GET,
            &format!("/v1/wallets/{wallet}/transactions/{id}"),
            Some(key),
            token,
            None,
        )
        .await
        .expect(200)
        .json();
        if !matches!(send["status"].as_str(), Some("pending" | "unconfirmed")) {
            return send;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("send {id} did not settle within 10 s");
}

async fn balance_of(chain: &Chain, address: &str) -> U256 {
    chain.balance(address.parse().unwrap()).await.unwrap().wei
}

/// Everything the server logs on this test's thread, at `debug` and above (the in-process
/// server runs on the test's single-threaded runtime, so a thread-local subscriber sees it).
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

async fn wallet_flow(backend: Backend) {
    let logs = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    wallet_flow_logged(backend, &logs).await;
}

async fn wallet_flow_logged(backend: Backend, logs: &LogCapture) {
    let node = anvil();
    let chain = chain_of(&node);
    let app = spawn(backend, &node).await;
    let (key, key_id) = api_key(&app, &ALL_SCOPES).await;
    let (email, password) = (unique_email("custody"), strong_password());
    let owner = app.register_active(&email, &password).await;
    let token = app.login(&email, &password).await.access;

    // Creating needs the API key, the token and the account's password.
    let create = json!({"password": password, "label": "Savings"});
    call(
        &app,
        Method::POST,
        "/v1/wallets",
        None,
        &token,
        Some(&create),
    )
    .await
    .problem(401, Some("api-key-required"));
    let wrong = json!({"password": "not the password at all"});
    call(
        &app,
        Method::POST,
        "/v1/wallets",
        Some(&key),
        &token,
        Some(&wrong),
    )
    .await
    .problem(403, Some("wallet-password"));
    let wallet = call(
        &app,
        Method::POST,
        "/v1/wallets",
        Some(&key),
        &token,
        Some(&create),
    )
    .await
    .expect(201)
    .json();
    let id = wallet["id"].as_str().unwrap().to_owned();
    let address = wallet["address"].as_str().unwrap().to_owned();
    assert_eq!(wallet["label"], "Savings");
    assert_eq!(wallet["chain_id"], CHAIN_ID);
    assert!(address.parse::<Address>().is_ok(), "{address}");
    let listed = call(&app, Method::GET, "/v1/wallets", Some(&key), &token, None)
        .await
        .expect(200)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["address"], address.as_str());
    let text = format!("{wallet}{listed}");
    assert!(
        !text.contains("key\""),
        "no key material in answers: {text}"
    );

    // Another user's token does not reach the wallet.
    let (other_email, other_password) = (unique_email("custody-other"), strong_password());
    app.register_active(&other_email, &other_password).await;
    let other = app.login(&other_email, &other_password).await.access;
    call(
        &app,
        Method::GET,
        &format!("/v1/wallets/{id}"),
        Some(&key),
        &other,
        None,
    )
    .await
    .problem(404, Some("not-found"));

    // Funded from outside: balance and history come from the node.
    let funder = funded(&node, 0);
    let funding = pay(&chain, &funder, &address, eth(5)).await;
    let balance = call(
        &app,
        Method::GET,
        &format!("/v1/wallets/{id}/balance"),
        Some(&key),
        &token,
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(balance["wei"], eth(5).to_string());
    let history = call(
        &app,
        Method::GET,
        &format!("/v1/wallets/{id}/history"),
        Some(&key),
        &token,
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history[0]["direction"], "received");
    assert_eq!(history[0]["tx_hash"], funding.to_string());
    assert_eq!(history[0]["from"], funder.address().to_string());

    // A send without a recent TOTP or passkey authentication: an RFC 9470 challenge.
    let recipient = Address::repeat_byte(0x42).to_string();
    let order =
        |value: U256| json!({"to": recipient, "value": value.to_string(), "password": password});
    let sends = format!("/v1/wallets/{id}/transactions");
    let refused = call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(eth(1))),
    )
    .await;
    refused.problem(401, Some("step-up-required"));
    let challenge = refused
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.contains("insufficient_user_authentication"),
        "{challenge}"
    );

    let (_, totp) = enrol_totp(&app, &token).await;
    let token = step_up_with_totp(&app, &token, &totp).await;

    // Bad input: each a clear problem, nothing sent.
    let bad_password = json!({"to": recipient, "value": "1", "password": "wrong password here"});
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&bad_password),
    )
    .await
    .problem(403, Some("wallet-password"));
    let bad_address = json!({"to": "0x1234", "value": "1", "password": password});
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&bad_address),
    )
    .await
    .problem(400, Some("invalid-wallet-address"));
    let bad_checksum = json!({"to": "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", "value": "1", "password": password});
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&bad_checksum),
    )
    .await
    .problem(400, Some("invalid-wallet-address"));
    let bad_value = json!({"to": recipient, "value": "1.5", "password": password});
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&bad_value),
    )
    .await
    .problem(400, Some("invalid-amount"));
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(eth(6))),
    )
    .await
    .problem(422, Some("insufficient-funds"));
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(eth(11))),
    )
    .await
    .problem(403, Some("spend-limit"));
    assert_eq!(
        chain.pending_nonce(address.parse().unwrap()).await.unwrap(),
        0
    );
    assert_eq!(balance_of(&chain, &address).await, eth(5));

    // The send: accepted, then mined, with its receipt.
    let sent = call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(eth(1))),
    )
    .await
    .expect(202)
    .json();
    assert_eq!(sent["nonce"], 0);
    assert!(matches!(sent["status"].as_str(), Some("pending")), "{sent}");
    let done = settled(&app, &key, &token, &id, sent["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "mined", "{done}");
    assert_eq!(done["gas_used"], 21_000);
    assert!(done["block"].as_i64().unwrap() > 0);
    assert_eq!(balance_of(&chain, &recipient).await, eth(1));
    let hash: TxHash = done["tx_hash"].as_str().unwrap().parse().unwrap();
    assert!(mined(&chain, hash).await.success);

    // Over the wallet's daily limit now: 1 sent + 6.5 > 7.
    let over = U256::from(65u64) * U256::from(10u64).pow(U256::from(17u64));
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(over)),
    )
    .await
    .problem(403, Some("spend-limit"));

    // Every send is on record, refused ones with their reason.
    let all = call(&app, Method::GET, &sends, Some(&key), &token, None)
        .await
        .expect(200)
        .json();
    let statuses: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["refused", "mined", "refused", "refused"],
        "{all}"
    );
    assert!(all[0]["error"].as_str().unwrap().contains("limit"), "{all}");

    let history = call(
        &app,
        Method::GET,
        &format!("/v1/wallets/{id}/history?limit=10"),
        Some(&key),
        &token,
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(history[0]["direction"], "sent", "{history}");
    assert_eq!(history[0]["tx_hash"], hash.to_string());

    // EIP-191 signature for a dApp log-in: recovers to the wallet's address.
    let message = "Sign in to dapp.example\nNonce: 8f2a";
    let signed = call(
        &app,
        Method::POST,
        &format!("/v1/wallets/{id}/signatures"),
        Some(&key),
        &token,
        Some(&json!({"message": message, "password": password})),
    )
    .await
    .expect(200)
    .json();
    let sig = hex::decode(
        signed["signature"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    let sig = alloy::primitives::Signature::try_from(sig.as_slice()).unwrap();
    assert_eq!(
        sig.recover_address_from_msg(message.as_bytes())
            .unwrap()
            .to_string(),
        address
    );

    // A key without the send scope; a revoked key.
    let (read_only, _) = api_key(&app, &["wallets:read"]).await;
    call(
        &app,
        Method::POST,
        &sends,
        Some(&read_only),
        &token,
        Some(&order(eth(1))),
    )
    .await
    .problem(403, Some("api-key-scope"));
    let (email_admin, pw_admin) = (unique_email("custody-revoker"), strong_password());
    let admin_id = app.register_active(&email_admin, &pw_admin).await;
    app.make_admin(&admin_id).await;
    let admin = app.login(&email_admin, &pw_admin).await.access;

    // What the server keeps: the key is nowhere in the clear, and the keyring alone cannot
    // open it; with the password it opens to the wallet's address.
    let secret = open_with_password(&app, &owner, &id, &password).await;
    assert_no_secret(&app, backend, &secret).await;
    let logged = logs.0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logged).contains("custodial send broadcast"),
        "the capture holds the server's log"
    );
    for needle in [
        secret.to_vec(),
        hex::encode(secret).into_bytes(),
        hex::encode_upper(secret).into_bytes(),
    ] {
        assert!(
            !logged.windows(needle.len()).any(|w| w == needle.as_slice()),
            "the private key is in the server log"
        );
    }

    // A master-key rotation re-wraps the wallet's data key; the wallet still opens with the
    // password.
    let ring_path = app.data_dir().join("keyring.json");
    let mut ring = portcullis_store::keyring::Keyring::load(&ring_path).unwrap();
    let version = ring.add_master(0).unwrap();
    ring.save(&ring_path).unwrap();
    let store = app.server().state.store().clone();
    assert_eq!(
        portcullis_server::services::custody::rewrap_keys(&store, &ring)
            .await
            .unwrap(),
        1
    );
    app.server().state.set_keyring(ring);
    let keys = store.custody.wallet_keys().await.unwrap();
    assert!(
        keys.iter().all(|(_, k)| k.master_version == version),
        "{keys:?}"
    );
    call(
        &app,
        Method::POST,
        &format!("/v1/wallets/{id}/signatures"),
        Some(&key),
        &token,
        Some(&json!({"message": "after the rotation", "password": password})),
    )
    .await
    .expect(200);

    // The node goes down: reads and sends answer 503, nothing is lost.
    let url = node.endpoint();
    drop(node);
    call(
        &app,
        Method::GET,
        &format!("/v1/wallets/{id}/balance"),
        Some(&key),
        &token,
        None,
    )
    .await
    .problem(503, Some("chain-unavailable"));
    call(
        &app,
        Method::POST,
        &sends,
        Some(&key),
        &token,
        Some(&order(eth(1))),
    )
    .await
    .problem(503, Some("chain-unavailable"));
    let all = call(&app, Method::GET, &sends, Some(&key), &token, None)
        .await
        .expect(200)
        .json();
    assert_eq!(all[0]["status"], "refused", "{all} ({url})");

    app.delete(&format!("/v1/admin/api-keys/{key_id}"), Some(&admin), None)
        .await
        .expect(204);
    call(&app, Method::GET, "/v1/wallets", Some(&key), &token, None)
        .await
        .problem(401, Some("api-key-invalid"));
}

/// Opens wallet `id` as an attacker with the data directory and database would try to
/// (keyring alone: refused), then as the server does with the password; returns the key.
async fn open_with_password(app: &TestApp, owner: &str, id: &str, password: &str) -> [u8; 32] {
    let state = &app.server().state;
    let account = state
        .store()
        .custody
        .wallet(owner.parse().unwrap(), id)
        .await
        .unwrap()
        .unwrap();
    let keyring = state.keyring();
    let aad = format!("custodial-wallet:{id}").into_bytes();
    let data_key = keyring.unwrap_key(&account.wrapped_key, &aad).unwrap();
    assert!(
        data_key.decrypt(&account.sealed_key, &aad).is_err(),
        "the keyring alone opened a wallet"
    );
    let salt: [u8; 16] = account.kdf_salt.as_slice().try_into().unwrap();
    let params: Argon2Params = serde_json::from_str(&account.kdf_params).unwrap();
    let wrong = PasswordHasher::derive_key(&Password::new("not it".into()), &salt, params).unwrap();
    let info = b"portcullis custodial wallet key v1";
    assert!(
        data_key
            .bound_with(&wrong, info)
            .decrypt(&account.sealed_key, &aad)
            .is_err()
    );
    let pw_key =
        PasswordHasher::derive_key(&Password::new(password.into()), &salt, params).unwrap();
    let plain = data_key
        .bound_with(&pw_key, info)
        .decrypt(&account.sealed_key, &aad)
        .unwrap();
    let secret: [u8; 32] = plain.as_slice().try_into().unwrap();
    let key = portcullis_chain::CustodialKey::from_secret(&secret).unwrap();
    assert_eq!(key.address().to_string(), account.address);
    secret
}

/// The key, as hex (either case) or raw bytes, is in no file of the data directory (the
/// SQLite database and its WAL, the ledgers), in no audit record, and (PostgreSQL) in no
/// column of the custodial tables.
async fn assert_no_secret(app: &TestApp, backend: Backend, secret: &[u8; 32]) {
    let hex_lower = hex::encode(secret);
    let needles: [Vec<u8>; 3] = [
        secret.to_vec(),
        hex_lower.clone().into_bytes(),
        hex_lower.to_uppercase().into_bytes(),
    ];
    let mut files = 0;
    let mut dirs = vec![app.data_dir().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files += 1;
                let bytes = std::fs::read(&path).unwrap();
                for needle in &needles {
                    assert!(
                        !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                        "the private key is in {}",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(files > 2, "the scan found the data files");
    let records = app
        .server()
        .state
        .ledgers()
        .audit
        .page(0, 10_000)
        .await
        .unwrap();
    assert!(records.iter().any(|r| r.event.event == "custody.send"));
    for r in &records {
        let text = format!("{:?} {}", r.event, r.event.detail);
        assert!(
            !text.to_lowercase().contains(&hex_lower),
            "the key reached the audit log"
        );
    }
    if backend == Backend::Postgres {
        let store = app.server().state.store();
        for (_, wrapped) in store.custody.wallet_keys().await.unwrap() {
            assert!(!wrapped.bytes.windows(32).any(|w| w == secret));
        }
    }
}

#[tokio::test]
async fn wallet_flow_sqlite() {
    wallet_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn wallet_flow_postgres() {
    wallet_flow(Backend::Postgres).await;
}
