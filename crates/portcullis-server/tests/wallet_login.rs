//! The hardware-wallet login (issue 14, parts 3 to 6) over HTTP, on SQLite and PostgreSQL:
//! password, then the wallet's two signatures; the AuthNFT handed to the issuer and burned,
//! the ReqNFT minted; DPoP-bound tokens (a stolen token, a replayed proof, a proof for
//! another URI or by another key all refused); a second login while the wallet is signed in
//! refused; the presence channel (answered, then forged, then silent: the session ends, its
//! ReqNFT burns, the wallet gets a fresh AuthNFT); logout; and the next login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_core::eth;
use portcullis_core::token::dpop::{ProofClaims, SessionSigner, ath};
use portcullis_server::services::forward_auth::{ForwardAuthConfig, Rule};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Backend, Reply, TestApp, Tokens, strong_password, unique_email};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::Message;

/// Hardhat's published development key #0 and its address.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Hardhat's key #1.
const KEY_1: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn sign(hex_key: &str, text: &str) -> String {
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(hex_key).unwrap()).unwrap();
    eth::sign(&key, text.as_bytes()).unwrap().to_string()
}

/// A ledger's entries, decoded.
async fn entries(app: &TestApp, ledger: &str) -> Vec<Value> {
    let list = app
        .get(
            &format!("/v1/ledgers/{ledger}/entries?from=0&limit=200"),
            None,
        )
        .await
        .expect(200)
        .json();
    list.as_array()
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

/// The operation names of a ledger's entries, in order (`mint`, `transfer`, `burn`).
async fn ops(app: &TestApp, ledger: &str) -> Vec<String> {
    entries(app, ledger)
        .await
        .iter()
        .map(|e| {
            let text = e.to_string();
            ["mint", "transfer", "burn"]
                .into_iter()
                .find(|op| text.contains(op))
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
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

    fn jwk(&self) -> Value {
        self.key.public().to_jwk()
    }

    fn proof(&mut self, method: &str, url: &str, token: &str) -> String {
        self.proof_for(method, url, Some(token))
    }

    fn proof_for(&mut self, method: &str, url: &str, token: Option<&str>) -> String {
        self.n += 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.key.proof(&ProofClaims {
            jti: format!("jti-{}-{}", self.n, now),
            htm: method.to_owned(),
            htu: url.to_owned(),
            iat: now,
            nonce: self.nonce.clone(),
            ath: token.map(ath),
        })
    }

    /// Sends `method path` with the token and a fresh proof; on `use_dpop_nonce` takes the
    /// nonce and tries once more, as RFC 9449 clients do.
    async fn call(&mut self, app: &TestApp, method: Method, path: &str, token: &str) -> Reply {
        for _ in 0..2 {
            let proof = self.proof(method.as_str(), &app.url(path), token);
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

/// Password, then the wallet message for `client`'s key; returns the challenge and texts.
async fn start_wallet_login(
    app: &TestApp,
    email: &str,
    password: &str,
    client: &DpopClient,
) -> (String, Reply) {
    let pending = app.try_login(email, password).await.expect(202).json();
    let factors = pending["factors"].to_string();
    assert!(factors.contains("wallet"), "{pending}");
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let message = app
        .post(
            &format!("/v1/sessions/challenges/{id}/wallet-message"),
            None,
            &json!({ "session_key": client.jwk() }),
        )
        .await;
    (id, message)
}

async fn answer(app: &TestApp, id: &str, texts: &Value, key: &str) -> Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({
            "factor": "wallet",
            "signature": sign(key, texts["message"].as_str().unwrap()),
            "delegation_signature": sign(key, texts["delegation"].as_str().unwrap()),
        }),
    )
    .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
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

/// Logs in with the wallet and returns the tokens.
async fn wallet_login(app: &TestApp, email: &str, password: &str, client: &DpopClient) -> Tokens {
    let (id, message) = start_wallet_login(app, email, password, client).await;
    let texts = message.expect(200).json();
    let body = answer(app, &id, &texts, KEY_0).await.expect(201).json();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    Tokens::from_json(&body)
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn wallet_login_flow(backend: Backend) {
    let app = TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| {
            c.wallet.presence_interval = Duration::from_secs(1);
            // The wrong answers below would otherwise make the right one wait (back-off).
            c.login.free_failures = 10;
            // Every wallet message and answer counts against the account's per-minute
            // attempts, and this test makes many on purpose.
            c.rate_limit.per_account_per_minute = 1000;
            c.forward_auth = ForwardAuthConfig {
                token_ttl: Duration::from_secs(60),
                rules: vec![Rule {
                    host: Some("app.test".into()),
                    path_prefix: "/api".into(),
                    methods: Vec::new(),
                    audience: Some("orders".into()),
                    roles: Vec::new(),
                    acr: None,
                    max_age: None,
                    public: false,
                }],
            };
        })
        .spawn()
        .await;
    let email = unique_email("wallet-login");
    let password = strong_password();
    enrol(&app, &email, &password).await;
    assert_eq!(ops(&app, "auth").await, ["mint"]);
    let mut client = DpopClient::new(5);

    // A session key that is not a public JWK of ours.
    let pending = app.try_login(&email, &password).await.expect(202).json();
    let id = pending["challenge_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/sessions/challenges/{id}/wallet-message");
    for bad in [
        json!({"kty": "oct", "k": "AAAA"}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": "short"}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": client.jwk()["x"], "d": "AAAA"}),
    ] {
        app.post(&path, None, &json!({ "session_key": bad }))
            .await
            .problem(400, Some("invalid-session-key"));
    }
    // Answering before asking for the message.
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({"factor": "wallet", "signature": "0x00", "delegation_signature": "0x00"}),
    )
    .await
    .problem(400, Some("invalid-wallet-signature"));

    // Another key's signatures fail like a wrong code, and spend the message.
    let texts = app
        .post(&path, None, &json!({ "session_key": client.jwk() }))
        .await
        .expect(200)
        .json();
    assert!(
        texts["message"].as_str().unwrap().contains(ADDRESS_0),
        "{texts}"
    );
    let thumbprint = client.key.public().thumbprint();
    assert!(
        texts["delegation"].as_str().unwrap().contains(&thumbprint),
        "{texts}"
    );
    answer(&app, &id, &texts, KEY_1)
        .await
        .problem(401, Some("invalid-credentials"));
    answer(&app, &id, &texts, KEY_0)
        .await
        .problem(400, Some("invalid-wallet-signature"));
    assert_eq!(ops(&app, "auth").await, ["mint"], "nothing was spent");
    assert!(entries(&app, "req").await.is_empty());

    // The wallet's own signatures log in: the AuthNFT goes to the issuer and burns, the
    // ReqNFT names the session and the key.
    let texts = app
        .post(&path, None, &json!({ "session_key": client.jwk() }))
        .await
        .expect(200)
        .json();
    let body = answer(&app, &id, &texts, KEY_0).await.expect(201).json();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let tokens = Tokens::from_json(&body);
    let c = claims(&tokens.access);
    assert_eq!(c["cnf"]["jkt"], thumbprint.as_str(), "{c}");
    assert!(c["amr"].to_string().contains("hwk"), "{c}");
    assert_eq!(ops(&app, "auth").await, ["mint", "transfer", "burn"]);
    let req = entries(&app, "req").await;
    assert_eq!(req.len(), 1, "{req:?}");
    let minted = req[0].to_string();
    assert!(
        minted.contains(&tokens.session_id)
            && minted.contains(&thumbprint)
            && minted.contains(ADDRESS_0),
        "{minted}"
    );
    // The challenge is gone: a replayed answer changes nothing.
    assert!(matches!(
        answer(&app, &id, &texts, KEY_0).await.status.as_u16(),
        404 | 410
    ));
    assert_eq!(ops(&app, "auth").await.len(), 3);

    // Every call needs the token and a proof by the session key.
    let me = app.url("/v1/me");
    app.get("/v1/me", Some(&tokens.access))
        .await
        .problem(401, Some("invalid-dpop-proof"));
    let first = app
        .send(
            app.client
                .get(&me)
                .header("authorization", format!("DPoP {}", tokens.access))
                .header("dpop", client.proof("GET", &me, &tokens.access)),
        )
        .await;
    first.problem(401, Some("use-dpop-nonce"));
    assert!(first.header("dpop-nonce").is_some());
    client.nonce = first.header("dpop-nonce").map(str::to_owned);
    for _ in 0..3 {
        client
            .call(&app, Method::GET, "/v1/me", &tokens.access)
            .await
            .expect(200);
    }
    // A proof replayed, for another URI, for another method, by another key.
    let proof = client.proof("GET", &me, &tokens.access);
    let send = |proof: String| {
        app.send(
            app.client
                .get(&me)
                .header("authorization", format!("DPoP {}", tokens.access))
                .header("dpop", proof),
        )
    };
    send(proof.clone()).await.expect(200);
    send(proof).await.problem(401, Some("invalid-dpop-proof"));
    let elsewhere = client.proof("GET", &app.url("/v1/me/factors"), &tokens.access);
    send(elsewhere)
        .await
        .problem(401, Some("invalid-dpop-proof"));
    let post = client.proof("POST", &me, &tokens.access);
    send(post).await.problem(401, Some("invalid-dpop-proof"));
    let mut thief = DpopClient::new(6);
    thief.nonce = client.nonce.clone();
    let stolen = thief.proof("GET", &me, &tokens.access);
    send(stolen).await.problem(401, Some("invalid-dpop-proof"));

    // Behind forward-auth: the proof names the original request (scheme, host, path).
    let forward = |auth: String, proof: Option<String>| {
        let mut request = app
            .client
            .get(app.url("/v1/forward-auth"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.test")
            .header("x-forwarded-uri", "/api/orders?page=2")
            .header("authorization", auth);
        if let Some(p) = proof {
            request = request.header("dpop", p);
        }
        app.send(request)
    };
    let original = "https://app.test/api/orders";
    let through = forward(
        format!("DPoP {}", tokens.access),
        Some(client.proof("GET", original, &tokens.access)),
    )
    .await;
    through.expect(200);
    assert!(through.header("x-portcullis-subject").is_some());
    for (auth, proof) in [
        (format!("DPoP {}", tokens.access), None),
        (format!("Bearer {}", tokens.access), None),
        (
            format!("DPoP {}", tokens.access),
            Some(client.proof("GET", "https://app.test/api/other", &tokens.access)),
        ),
        (
            format!("DPoP {}", tokens.access),
            Some(thief.proof("GET", original, &tokens.access)),
        ),
    ] {
        forward(auth, proof).await.expect(401);
    }

    // While the wallet is signed in, a second login with it is refused.
    let (_, second) = start_wallet_login(&app, &email, &password, &DpopClient::new(7)).await;
    second.problem(409, Some("conflict"));

    // Presence: answered challenges keep the session; a forged answer is refused and
    // changes nothing; silence ends the session within two intervals.
    let ws_url = app
        .url("/v1/sessions/current/presence")
        .replace("http", "ws");
    let http_url = app.url("/v1/sessions/current/presence");
    let mut request = ws_url.into_client_request().unwrap();
    let proof = client.proof("GET", &http_url, &tokens.access);
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("DPoP {}", tokens.access).parse().unwrap(),
    );
    headers.insert("dpop", proof.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let (mut sink, mut stream) = socket.split();
    let mut next = async || -> Value {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).unwrap(),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) => return json!({"type": "closed"}),
                Ok(Some(Ok(_))) => continue,
                other => panic!("presence socket: {other:?}"),
            }
        }
    };
    for _ in 0..2 {
        let challenge = next().await;
        assert_eq!(challenge["type"], "challenge", "{challenge}");
        assert!(
            challenge["statement"]
                .as_str()
                .is_some_and(|s| s.split('.').count() == 3)
        );
        let text = challenge["message"].as_str().unwrap();
        let forged = json!({"type": "answer", "challenge": challenge["challenge"], "signature": sign(KEY_1, text)});
        let good = json!({"type": "answer", "challenge": challenge["challenge"], "signature": sign(KEY_0, text)});
        sink.send(Message::Text(forged.to_string().into()))
            .await
            .unwrap();
        assert_eq!(next().await["type"], "refused");
        sink.send(Message::Text(good.to_string().into()))
            .await
            .unwrap();
        assert_eq!(next().await["type"], "accepted");
    }
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(200);
    // The wallet is pulled: nobody answers.
    let ended = loop {
        let m = next().await;
        if m["type"] != "challenge" {
            break m;
        }
    };
    assert_eq!(ended["type"], "ended", "{ended}");
    assert_eq!(ended["reason"], "presence_lost", "{ended}");
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(401);
    assert_eq!(ops(&app, "req").await, ["mint", "burn"]);
    assert_eq!(
        ops(&app, "auth").await,
        ["mint", "transfer", "burn", "mint"]
    );

    // The fresh AuthNFT logs in again; logout burns the ReqNFT and mints the next one.
    let mut client = DpopClient::new(8);
    let tokens = wallet_login(&app, &email, &password, &client).await;
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(200);
    // Its refresh token, with a proof by the session key, gives DPoP tokens again.
    let refresh_url = app.url("/v1/tokens/refresh");
    let proof = client.proof_for("POST", &refresh_url, None);
    let refreshed = app
        .send(
            app.client
                .post(&refresh_url)
                .header("dpop", proof)
                .json(&json!({ "refresh_token": tokens.refresh })),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(refreshed["token_type"], "DPoP", "{refreshed}");
    let tokens = Tokens::from_json(&refreshed);
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(200);
    client
        .call(&app, Method::DELETE, "/v1/sessions/current", &tokens.access)
        .await
        .expect(204);
    client
        .call(&app, Method::GET, "/v1/me", &tokens.access)
        .await
        .expect(401);
    wait_until("the logout's ledger entries are in", async || {
        ops(&app, "auth").await.len() == 7
    })
    .await;
    assert_eq!(ops(&app, "req").await, ["mint", "burn", "mint", "burn"]);
    assert_eq!(
        ops(&app, "auth").await,
        [
            "mint", "transfer", "burn", "mint", "transfer", "burn", "mint"
        ]
    );
    // A refresh without the key's proof ends the session (and gives the wallet its AuthNFT
    // back).
    let mut client = DpopClient::new(9);
    let third = wallet_login(&app, &email, &password, &client).await;
    app.refresh(&third.refresh).await.expect(401);
    client
        .call(&app, Method::GET, "/v1/me", &third.access)
        .await
        .expect(401);
    assert_eq!(ops(&app, "req").await.len(), 6);
    wallet_login(&app, &email, &password, &DpopClient::new(10)).await;
}

#[tokio::test]
async fn wallet_login_on_sqlite() {
    wallet_login_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn wallet_login_on_postgres() {
    wallet_login_flow(Backend::Postgres).await;
}
