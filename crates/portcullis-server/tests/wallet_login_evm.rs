//! The hardware-wallet login with `[ledger] backend = "evm"` (feature `evm`), on SQLite and
//! PostgreSQL, against anvil (`scripts/test` exports PORTCULLIS_TEST_ANVIL): the AuthNFT and
//! ReqNFT live in two ERC-721 contracts deployed from the issuer key. Enrol (mint), login
//! (transfer to the issuer, burn, ReqNFT minted), a DPoP call, a replayed answer refused,
//! logout (ReqNFT burned, fresh AuthNFT minted), a second login with the fresh AuthNFT; then
//! the index agrees with the contracts' events (what `portcullis ledger verify` checks) and a
//! tampered index is named.
#![cfg(feature = "evm")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use alloy::node_bindings::{Anvil, AnvilInstance};
use portcullis_core::eth;
use portcullis_core::token::dpop::{ProofClaims, SessionSigner, ath};
use portcullis_ledger::LedgerName;
use portcullis_ledger::evm::{IssuerKey, VerifyReport, contract, issuer_provider};
use portcullis_server::config::{ChainConfig, LedgerBackend};
use portcullis_server::ledgers;
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _};
use support::{Backend, Reply, TestApp, Tokens, strong_password, unique_email};

/// Hardhat's published development key #0 and its address: the wallet.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn sign(hex_key: &str, text: &str) -> String {
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(hex_key).unwrap()).unwrap();
    eth::sign(&key, text.as_bytes()).unwrap().to_string()
}

/// A client holding a session key: signs DPoP proofs, remembers the server's nonce.
struct DpopClient {
    key: SessionSigner,
    nonce: Option<String>,
    n: u32,
}

impl DpopClient {
    fn new(seed: u8) -> Self {
        Self {
            key: SessionSigner::ed25519_from_bytes(&[seed; 32]),
            nonce: None,
            n: 0,
        }
    }

    async fn call(&mut self, app: &TestApp, method: Method, path: &str, token: &str) -> Reply {
        for _ in 0..2 {
            self.n += 1;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let proof = self.key.proof(&ProofClaims {
                jti: format!("jti-{}-{}", self.n, now),
                htm: method.as_str().to_owned(),
                htu: app.url(path),
                iat: now,
                nonce: self.nonce.clone(),
                ath: Some(ath(token)),
            });
            let reply = app
                .send(
                    app.client
                        .request(method.clone(), app.url(path))
                        .header("authorization", format!("DPoP {token}"))
                        .header("dpop", proof),
                )
                .await;
            if let Some(n) = reply.header("dpop-nonce") {
                self.nonce = Some(n.to_owned());
            }
            let retry = reply.status == 401
                && reply
                    .header("www-authenticate")
                    .is_some_and(|w| w.contains("use_dpop_nonce"));
            if !retry {
                return reply;
            }
        }
        panic!("the server asked for a nonce twice");
    }
}

async fn enrol(app: &TestApp, email: &str, password: &str) {
    app.register_active(email, password).await;
    let t = app.login(email, password).await;
    let started = app
        .post(
            "/v1/me/factors/wallet",
            Some(&t.access),
            &json!({ "address": ADDRESS_0 }),
        )
        .await
        .expect(201)
        .json();
    let id = started["factor"]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{id}/confirm"),
        Some(&t.access),
        &json!({ "code": sign(KEY_0, started["message"].as_str().unwrap()) }),
    )
    .await
    .expect(200);
}

/// Password, then the wallet's two signatures; returns the challenge, the texts signed and
/// the tokens.
async fn wallet_login(
    app: &TestApp,
    email: &str,
    password: &str,
    client: &DpopClient,
) -> (String, Value, Tokens) {
    let pending = app.try_login(email, password).await.expect(202).json();
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let texts = app
        .post(
            &format!("/v1/sessions/challenges/{id}/wallet-message"),
            None,
            &json!({ "session_key": client.key.public().to_jwk() }),
        )
        .await
        .expect(200)
        .json();
    let body = answer(app, &id, &texts).await.expect(201).json();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    (id, texts, Tokens::from_json(&body))
}

async fn answer(app: &TestApp, id: &str, texts: &Value) -> Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({
            "factor": "wallet",
            "signature": sign(KEY_0, texts["message"].as_str().unwrap()),
            "delegation_signature": sign(KEY_0, texts["delegation"].as_str().unwrap()),
        }),
    )
    .await
}

/// A node, and the two contracts deployed from the issuer (anvil's key #3, not the wallet's).
struct Node {
    anvil: AnvilInstance,
    keys: tempfile::TempDir,
    auth: String,
    req: String,
}

async fn node() -> Node {
    let path = std::env::var("PORTCULLIS_TEST_ANVIL")
        .expect("PORTCULLIS_TEST_ANVIL is not set: run the tests through scripts/test");
    let anvil = Anvil::at(path).spawn();
    let secret: [u8; 32] = anvil.keys()[3].to_bytes().into();
    let keys = tempfile::tempdir().unwrap();
    std::fs::write(keys.path().join("issuer.key"), hex::encode(secret)).unwrap();
    let issuer = IssuerKey::from_secret(&secret).unwrap();
    let chain = portcullis_chain::Chain::connect(anvil.endpoint_url(), 31337);
    let sender = issuer_provider(&chain, &issuer);
    let (auth, _) = contract::deploy(&sender, "Portcullis AuthNFT", "PCAUTH")
        .await
        .unwrap();
    let (req, _) = contract::deploy(&sender, "Portcullis ReqNFT", "PCREQ")
        .await
        .unwrap();
    Node {
        anvil,
        keys,
        auth: auth.to_string(),
        req: req.to_string(),
    }
}

/// What `portcullis ledger verify` checks for token ledger `name`.
async fn verify(app: &TestApp, name: LedgerName) -> VerifyReport {
    let state = &app.server().state;
    let config = state.config();
    let chain = ledgers::evm::chain(config).await.unwrap();
    let tokens = match name {
        LedgerName::Auth => &state.ledgers().auth_ledger,
        _ => &state.ledgers().req_ledger,
    };
    ledgers::evm::open_one(config, &chain, name, tokens)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap()
}

/// Runs `sql` on the auth ledger's storage, behind the server's back.
async fn tamper(app: &TestApp, sql: &str) {
    let config = app.server().state.config();
    let url = config.database_url();
    let url = url.expose_secret();
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let sql = sql.replace("evm_tokens", "ledger_auth.evm_tokens");
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let file = config.data_dir.join("ledger-auth.db");
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn wallet_login_on_the_chain(backend: Backend) {
    let node = node().await;
    let issuer_key = node.keys.path().join("issuer.key");
    let app = TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| {
            c.chain = ChainConfig {
                rpc_url: Some(node.anvil.endpoint().into()),
                chain_id: Some(31337),
            };
            c.ledger.backend = LedgerBackend::Evm;
            c.ledger.evm.auth_contract = Some(node.auth.clone());
            c.ledger.evm.req_contract = Some(node.req.clone());
            c.ledger.evm.issuer_key_file = issuer_key;
            c.login.free_failures = 10;
            c.rate_limit.per_account_per_minute = 1000;
        })
        .spawn()
        .await;
    let email = unique_email("wallet-evm");
    let password = strong_password();
    enrol(&app, &email, &password).await;
    let report = verify(&app, LedgerName::Auth).await;
    assert_eq!((report.tokens, report.events), (1, 1), "{report:?}");

    // Login: the AuthNFT is moved to the issuer and burned on the chain, a ReqNFT minted.
    let mut client = DpopClient::new(5);
    let (id, texts, tokens) = wallet_login(&app, &email, &password, &client).await;
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(200);
    assert!(matches!(
        answer(&app, &id, &texts).await.status.as_u16(),
        404 | 410
    ));
    let auth = verify(&app, LedgerName::Auth).await;
    assert_eq!((auth.tokens, auth.events), (1, 3), "{auth:?}");
    let req = verify(&app, LedgerName::Req).await;
    assert_eq!((req.tokens, req.events), (1, 1), "{req:?}");

    // Logout burns the ReqNFT and mints a fresh AuthNFT, which the next login spends.
    client
        .call(&app, Method::DELETE, "/v1/sessions/current", &tokens.access)
        .await
        .expect(204);
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(401);
    let mut client = DpopClient::new(8);
    let (_, _, tokens) = wallet_login(&app, &email, &password, &client).await;
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(200);

    // The index agrees with every event on the chain.
    let auth = verify(&app, LedgerName::Auth).await;
    assert!(auth.differences.is_empty(), "{:?}", auth.differences);
    assert_eq!((auth.tokens, auth.events), (2, 6), "{auth:?}");
    let req = verify(&app, LedgerName::Req).await;
    assert!(req.differences.is_empty(), "{:?}", req.differences);
    assert_eq!((req.tokens, req.events), (2, 3), "{req:?}");

    // An index that lies (a spent AuthNFT shown live) is named.
    tamper(&app, "UPDATE evm_tokens SET burned = FALSE").await;
    let auth = verify(&app, LedgerName::Auth).await;
    assert!(!auth.differences.is_empty(), "{auth:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_login_on_the_chain_sqlite() {
    wallet_login_on_the_chain(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_login_on_the_chain_postgres() {
    wallet_login_on_the_chain(Backend::Postgres).await;
}
