//! The server under test, shared by the benches that drive one over HTTP: its configuration
//! (port 0, SQLite in a throw-away directory, limits lifted), start-up until `/health`
//! answers, and the one account they log in with.

use anyhow::{anyhow, bail};
use portcullis_core::ids::AccountId;
use portcullis_server::Server;
use portcullis_server::config::Config;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

pub(super) const EMAIL: &str = "bench@example.com";
pub(super) const PASSWORD: &str = "quiet harbour lanterns drift past violet cliffs";
/// How long a server may take to answer `/health` before the bench gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifted rate limits and back-off: the bench measures work, not the limiter.
const UNLIMITED: u32 = 1_000_000;

/// When a server started: `start()` returned (bound) and `/health` first answered 200.
pub(super) struct Startup {
    pub(super) bound: Duration,
    pub(super) ready: Duration,
}

/// The server configuration under test: defaults (argon2 included), port 0, SQLite in `dir`,
/// limits lifted.
pub(super) fn bench_config(dir: &Path) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        database_url: None,
        ..Config::default()
    };
    config.rate_limit.per_ip_per_minute = UNLIMITED;
    config.rate_limit.auth_per_ip_per_minute = UNLIMITED;
    config.rate_limit.per_account_per_minute = UNLIMITED;
    config.login.free_failures = i64::from(UNLIMITED);
    // The DualConfirm bench holds 10,000 sockets from one address.
    config.connections.max_total = UNLIMITED;
    config.connections.max_per_ip = UNLIMITED;
    config
}

/// Starts a server and waits until `/health` answers 200, timing both steps from the call.
pub(super) async fn start_ready(
    config: Config,
    http: &reqwest::Client,
) -> anyhow::Result<(Server, Startup)> {
    let t0 = Instant::now();
    let server = portcullis_server::start(config).await?;
    let bound = t0.elapsed();
    let health = format!("{}/health", server.url());
    loop {
        match http.get(&health).send().await {
            Ok(r) if r.status() == reqwest::StatusCode::OK => break,
            _ if t0.elapsed() > READY_TIMEOUT => bail!("server not ready after {READY_TIMEOUT:?}"),
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    let ready = t0.elapsed();
    Ok((server, Startup { bound, ready }))
}

/// Posts `email` and the bench password to `path`; the body of the 201 answer.
async fn post_credentials(
    server: &Server,
    http: &reqwest::Client,
    email: &str,
    path: &str,
    what: &str,
) -> anyhow::Result<serde_json::Value> {
    let response = http
        .post(format!("{}{path}", server.url()))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if status != reqwest::StatusCode::CREATED {
        bail!("{what} answered {status}: {body}");
    }
    Ok(body)
}

/// Registers the bench account over HTTP and marks it verified in the store.
pub(super) async fn create_account(server: &Server, http: &reqwest::Client) -> anyhow::Result<()> {
    create_account_as(server, http, EMAIL).await
}

/// Registers `email` (with the bench password) over HTTP and marks it verified in the store.
pub(super) async fn create_account_as(
    server: &Server,
    http: &reqwest::Client,
    email: &str,
) -> anyhow::Result<()> {
    let body = post_credentials(server, http, email, "/v1/accounts", "registration").await?;
    let id: AccountId = body["id"]
        .as_str()
        .ok_or_else(|| anyhow!("registration answer has no id: {body}"))?
        .parse()?;
    let now = server.state.now();
    if !server.state.store().accounts.mark_verified(id, now).await? {
        bail!("account {id} could not be marked verified");
    }
    Ok(())
}

/// Logs the bench account in (`POST /v1/sessions`, 201) and returns its access token.
pub(super) async fn access_token(
    server: &Server,
    http: &reqwest::Client,
) -> anyhow::Result<String> {
    let body = post_credentials(server, http, EMAIL, "/v1/sessions", "login").await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("login answer has no access_token: {body}"))
}
