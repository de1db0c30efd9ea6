//! The pattern OTP line of `portcullis bench login`: logins with the password and then a
//! pattern sent by SMS, over HTTP, against the password-only logins of the same run.
//!
//! Each client has its own account with a pattern OTP on its own number. The server texts
//! through its `webhook` SMS provider to a receiver in this process (as it would call a
//! gateway), which keeps the last text per number; a login is `POST /v1/sessions` (202), the
//! challenge's `send` (202, the pattern delivered before it answers), reading the pattern,
//! and the answer (201). The send and answer bounds are lifted so they measure nothing.

use anyhow::{anyhow, bail};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use portcullis_core::ids::AccountId;
use portcullis_server::Server;
use portcullis_server::config::{Config, SmsProvider};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

use super::proc::cpu;
use super::server::PASSWORD;
use super::{Phase, percentile};

const SECRET: &str = "bench-sms-webhook";

/// The last text per number.
type Texts = Arc<Mutex<HashMap<String, String>>>;

/// The SMS receiver the server texts through.
pub(super) struct Sink {
    texts: Texts,
    url: String,
}

async fn receive(
    State(texts): State<Texts>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET}"));
    let (Some(to), Some(text), true) = (body["to"].as_str(), body["body"].as_str(), authorised)
    else {
        return StatusCode::BAD_REQUEST;
    };
    if let Ok(mut map) = texts.lock() {
        map.insert(to.to_owned(), text.to_owned());
    }
    StatusCode::NO_CONTENT
}

/// Starts the receiver on a free port.
///
/// # Errors
/// No port to bind.
pub(super) async fn start_sink() -> anyhow::Result<Sink> {
    let texts = Texts::default();
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .with_state(texts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/sms", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Sink { texts, url })
}

/// Points the server's SMS at `sink` and lifts the send bounds.
///
/// # Errors
/// The receiver's URL does not parse.
pub(super) fn configure(config: &mut Config, sink: &Sink) -> anyhow::Result<()> {
    config.sms.provider = SmsProvider::Webhook;
    config.sms.webhook_url = Some(sink.url.parse()?);
    config.sms.webhook_secret = Some(SECRET.to_owned().into());
    config.mfa.otp_max_sends = i64::from(u32::MAX);
    config.mfa.otp_max_attempts = 5;
    Ok(())
}

/// The dots after "pattern: " in a text.
fn dots_in(text: &str) -> anyhow::Result<Vec<u32>> {
    let start = text
        .find("pattern: ")
        .ok_or_else(|| anyhow!("no pattern in {text:?}"))?
        + "pattern: ".len();
    text[start..]
        .split(' ')
        .next()
        .unwrap_or_default()
        .split('-')
        .map(|d| d.parse::<u32>().map_err(anyhow::Error::from))
        .collect()
}

/// One bench client: its account, number and HTTP client.
struct Client {
    base: String,
    email: String,
    phone: String,
    http: reqwest::Client,
    texts: Texts,
}

impl Client {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        want: u16,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let response = req.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if status.as_u16() != want {
            bail!("{path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn last_pattern(&self) -> anyhow::Result<Vec<u32>> {
        let text = self
            .texts
            .lock()
            .map_err(|_| anyhow!("SMS receiver poisoned"))?
            .get(&self.phone)
            .cloned()
            .ok_or_else(|| anyhow!("no text to {}", self.phone))?;
        dots_in(&text)
    }

    /// Registers, verifies (in the store), enrols and confirms a pattern OTP by SMS.
    async fn enrol(&self, server: &Server) -> anyhow::Result<()> {
        let creds = json!({ "email": self.email, "password": PASSWORD });
        let created = self.post("/v1/accounts", None, &creds, 201).await?;
        let id: AccountId = created["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no id"))?
            .parse()?;
        server
            .state
            .store()
            .accounts
            .mark_verified(id, server.state.now())
            .await?;
        let tokens = self.post("/v1/sessions", None, &creds, 201).await?;
        let access = tokens["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token"))?;
        let body = json!({ "channel": "sms", "phone": self.phone });
        let factor = self
            .post("/v1/me/factors/pattern", Some(access), &body, 201)
            .await?;
        let fid = factor["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no factor id"))?;
        let pattern = self.last_pattern()?;
        let path = format!("/v1/me/factors/{fid}/confirm");
        self.post(&path, Some(access), &json!({ "pattern": pattern }), 200)
            .await?;
        Ok(())
    }

    /// One login: password, send, read, draw.
    async fn login(&self) -> anyhow::Result<Duration> {
        let t = Instant::now();
        let creds = json!({ "email": self.email, "password": PASSWORD });
        let pending = self.post("/v1/sessions", None, &creds, 202).await?;
        let id = pending["challenge_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no challenge"))?;
        let send = format!("/v1/sessions/challenges/{id}/send");
        self.post(&send, None, &json!({ "factor": "pattern_otp" }), 202)
            .await?;
        let pattern = self.last_pattern()?;
        let answer = json!({ "factor": "pattern_otp", "pattern": pattern });
        self.post(&format!("/v1/sessions/challenges/{id}"), None, &answer, 201)
            .await?;
        Ok(t.elapsed())
    }
}

/// `clients` clients, each with its own account, logging in with password and pattern back
/// to back for `window`, after one warm-up login each; returns the phase and p50/p99.
///
/// # Errors
/// An enrolment or a login step did not answer as expected.
pub(super) async fn pattern_load(
    server: &Server,
    sink: &Sink,
    clients: usize,
    window: Duration,
) -> anyhow::Result<(Phase, Duration, Duration)> {
    let mut all = Vec::with_capacity(clients);
    for i in 0..clients {
        let client = Client {
            base: server.url(),
            email: format!("bench.pattern.{i}@example.com"),
            phone: format!("+1555010{i:04}"),
            http: reqwest::Client::new(),
            texts: sink.texts.clone(),
        };
        client.enrol(server).await?;
        all.push(client);
    }
    let barrier = Arc::new(Barrier::new(clients + 1));
    let workers: Vec<_> = all
        .into_iter()
        .map(|client| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let warm_up = client.login().await;
                barrier.wait().await;
                warm_up?;
                let deadline = Instant::now() + window;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    latencies.push(client.login().await?);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    barrier.wait().await;
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let phase = Phase {
        ops: latencies.len() as u64,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    };
    latencies.sort_unstable();
    Ok((
        phase,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dots_are_read_from_the_text() -> anyhow::Result<()> {
        let text = "Your Portcullis pattern: 3-7-12-1-5-9 - draw these dots";
        assert_eq!(dots_in(text)?, vec![3, 7, 12, 1, 5, 9]);
        assert!(dots_in("no dots").is_err());
        Ok(())
    }
}
