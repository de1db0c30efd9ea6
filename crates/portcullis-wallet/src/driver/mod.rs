//! The driver: what `portcullis-wallet login`, `call` and `logout` do against a Portcullis
//! server (DESIGN §4).
//!
//! `login` signs in with the password and the wallet: it makes an ephemeral session key
//! (Ed25519), asks the server for the two texts, has the wallet sign both (the SIWE message
//! and the delegation of the session key), and keeps the resulting DPoP-bound tokens with the
//! key in a session file. It then stays in the foreground on the presence channel, having
//! the wallet sign every challenge, until the session ends (a logout, or the wallet stopped
//! answering); then it locks the wallet. `call` signs one request with the session key;
//! `logout` ends the session.

pub mod dpop_client;
pub mod session;

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result, anyhow, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_core::token::dpop::SessionSigner;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use zeroize::Zeroizing;

use crate::Client;
use dpop_client::DpopClient;
use session::SessionFile;

/// How a driven session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server ended it (a logout, a revocation): its reason.
    Server(String),
    /// The presence channel closed without a reason.
    Closed,
}

/// Who logs in where.
pub struct LoginRequest<'a> {
    /// The server's base URL.
    pub server: &'a str,
    /// The account's e-mail.
    pub email: &'a str,
    /// The account's password.
    pub password: &'a str,
    /// Where the session file goes.
    pub session_file: &'a Path,
}

/// A problem+json answer as one line for the user.
async fn refusal(what: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let detail = body["detail"]
        .as_str()
        .or(body["title"].as_str())
        .unwrap_or("");
    anyhow!("{what}: {status} {detail}")
}

/// Runs a wallet request off the async threads (the wallet's line is blocking).
async fn on_wallet<T: Send + 'static>(
    wallet: &Arc<Mutex<Client>>,
    f: impl FnOnce(&mut Client) -> Result<T, crate::ClientError> + Send + 'static,
) -> Result<T> {
    let wallet = Arc::clone(wallet);
    tokio::task::spawn_blocking(move || {
        let mut client = wallet
            .lock()
            .map_err(|_| anyhow!("the wallet connection is poisoned"))?;
        f(&mut client).map_err(anyhow::Error::from)
    })
    .await?
}

/// Signs in with the (unlocked) `wallet` and writes the session file.
///
/// # Errors
/// A refusal by the server (its detail), by the wallet, or I/O.
pub async fn login(wallet: &Arc<Mutex<Client>>, request: &LoginRequest<'_>) -> Result<SessionFile> {
    let server = request.server.trim_end_matches('/');
    let http = reqwest::Client::new();
    let started = http
        .post(format!("{server}/v1/sessions"))
        .json(&json!({"email": request.email, "password": request.password}))
        .send()
        .await
        .context("POST /v1/sessions")?;
    if started.status() != reqwest::StatusCode::ACCEPTED {
        bail!(
            "{}",
            refusal("the login did not ask for the wallet", started).await
        );
    }
    let pending: Value = started.json().await?;
    if !pending["factors"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == "wallet"))
    {
        bail!("this account's login does not offer the wallet: {pending}");
    }
    let challenge = pending["challenge_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no challenge id in {pending}"))?
        .to_owned();
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("no randomness: {e}"))?;
    let key = SessionSigner::ed25519_from_bytes(&seed);
    let texts = http
        .post(format!(
            "{server}/v1/sessions/challenges/{challenge}/wallet-message"
        ))
        .json(&json!({"session_key": key.public().to_jwk()}))
        .send()
        .await?;
    if !texts.status().is_success() {
        bail!("{}", refusal("the wallet message", texts).await);
    }
    let texts: Value = texts.json().await?;
    let message = texts["message"].as_str().unwrap_or_default().to_owned();
    let delegation = texts["delegation"].as_str().unwrap_or_default().to_owned();
    let (signature, delegated) = on_wallet(wallet, move |w| {
        Ok((w.sign_message(&message)?, w.sign_delegation(&delegation)?))
    })
    .await?;
    let answered = http
        .post(format!("{server}/v1/sessions/challenges/{challenge}"))
        .json(&json!({
            "factor": "wallet",
            "signature": signature.to_string(),
            "delegation_signature": delegated.to_string(),
        }))
        .send()
        .await?;
    if answered.status() != reqwest::StatusCode::CREATED {
        bail!("{}", refusal("the wallet answer", answered).await);
    }
    let tokens: Value = answered.json().await?;
    let file = SessionFile {
        server: server.to_owned(),
        session_id: tokens["session_id"].as_str().unwrap_or_default().to_owned(),
        access_token: tokens["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no access token"))?
            .to_owned(),
        refresh_token: tokens["refresh_token"].as_str().map(str::to_owned),
        session_key: hex::encode(seed.as_ref()),
        nonce: None,
    };
    file.save(request.session_file)?;
    Ok(file)
}

/// Keeps the presence of `session` until it ends: every challenge the server sends is
/// signed by the wallet and answered. A wallet that fails to sign (pulled out, locked)
/// leaves the challenge unanswered; the server ends the session after enough of them.
///
/// # Errors
/// The channel could not be opened.
pub async fn keep_presence(wallet: &Arc<Mutex<Client>>, session: &SessionFile) -> Result<Ended> {
    let http_url = format!("{}/v1/sessions/current/presence", session.server);
    let ws_url = http_url.replacen("http", "ws", 1);
    let mut signer = DpopClient::new(session.signer()?, session.nonce.clone())?;
    // The upgrade is a GET like any other: it needs a nonce first.
    let probe = signer
        .send(
            Method::GET,
            &format!("{}/v1/me", session.server),
            Some(&session.access_token),
            None,
        )
        .await?;
    if !probe.status().is_success() {
        bail!("{}", refusal("the session is not usable", probe).await);
    }
    let mut request = ws_url.as_str().into_client_request()?;
    let proof = signer.proof(&Method::GET, &http_url, Some(&session.access_token))?;
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("DPoP {}", session.access_token).parse()?,
    );
    headers.insert("dpop", proof.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("presence channel")?;
    while let Some(message) = socket.next().await {
        let text = match message? {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let m: Value = serde_json::from_str(text.as_str())?;
        match m["type"].as_str() {
            Some("challenge") => {
                let challenge = m["challenge"].as_str().unwrap_or_default().to_owned();
                let text = m["message"].as_str().unwrap_or_default().to_owned();
                match on_wallet(wallet, move |w| w.sign_presence(&text)).await {
                    Ok(signature) => {
                        let answer = json!({
                            "type": "answer",
                            "challenge": challenge,
                            "signature": signature.to_string(),
                        });
                        socket
                            .send(Message::Text(answer.to_string().into()))
                            .await?;
                    }
                    Err(e) => eprintln!("portcullis-wallet: presence not answered: {e}"),
                }
            }
            Some("ended") => {
                return Ok(Ended::Server(
                    m["reason"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            Some("refused") => eprintln!("portcullis-wallet: presence answer refused: {m}"),
            _ => {}
        }
    }
    Ok(Ended::Closed)
}

/// Sends one request of the session: `target` is a path on the server or a full URL (a
/// service behind the guard or forward-auth). Returns the status and the body.
///
/// # Errors
/// No session file, or the request could not be sent.
pub async fn call(
    session_file: &Path,
    method: Method,
    target: &str,
    body: Option<&Value>,
) -> Result<(u16, String)> {
    let mut session = SessionFile::load(session_file)?;
    let url = if target.starts_with("http://") || target.starts_with("https://") {
        target.to_owned()
    } else {
        format!("{}{target}", session.server)
    };
    let mut client = DpopClient::new(session.signer()?, session.nonce.clone())?;
    let response = client
        .send(method, &url, Some(&session.access_token), body)
        .await?;
    // A service has nonces of its own; keep the server's.
    if url.starts_with(&session.server) && client.nonce != session.nonce {
        session.nonce.clone_from(&client.nonce);
        session.save(session_file)?;
    }
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// Ends the session of `session_file` and removes the file.
///
/// # Errors
/// The server refused (other than for a session that had ended already).
pub async fn logout(session_file: &Path) -> Result<()> {
    let (status, body) = call(session_file, Method::DELETE, "/v1/sessions/current", None).await?;
    if status != 204 && status != 401 {
        bail!("logout refused: {status} {body}");
    }
    std::fs::remove_file(session_file)?;
    Ok(())
}
