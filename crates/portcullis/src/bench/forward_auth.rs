//! `portcullis bench forward-auth`: `GET /v1/forward-auth` over loopback with keep-alive,
//! side by side with a bare axum handler that answers 200, which is the bound the HTTP stack
//! itself sets.
//!
//! Both servers run in this process on the same runtime: the bare one is a single axum route,
//! the other a real Portcullis (SQLite in a throw-away directory, limits lifted) with one
//! `[forward_auth]` rule for host `app.test`. The bench registers and logs in one account and
//! sends its access token with every request. The two targets are driven in alternating order
//! over several rounds, with the same request bytes and the same client ([`super::load`]), so
//! noise on the shared machine falls on both. Every answer must be 200.

use anyhow::{Context as _, bail};
use axum::http::StatusCode;
use axum::routing::get;
use portcullis_server::services::forward_auth::{ForwardAuthConfig, Rule};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::load::{self, Load};
use super::login::token_rates;
use super::proc::{Machine, machine};
use super::server::{access_token, bench_config, create_account, start_ready};
use super::{ms, print_rows, target};

/// Options of `portcullis bench forward-auth`.
#[derive(clap::Args, Debug)]
pub struct ForwardAuthArgs {
    /// Seconds per target per round.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Rounds; each drives both targets, in alternating order.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

const HOST: &str = "app.test";
const AUDIENCE: &str = "app";
/// Forward-auth throughput ÷ the bare handler's.
const RATIO_TARGET: f64 = 0.70;

/// Every figure of one run.
struct Report {
    machine: Machine,
    connections: usize,
    rounds: usize,
    bare: Load,
    forward: Load,
    /// Requests per second of (bare, forward-auth), per round.
    round_rates: Vec<(f64, f64)>,
    sign_per_sec: f64,
    verify_per_sec: f64,
}

impl Report {
    fn ratio(&self) -> f64 {
        self.forward.phase.per_sec() / self.bare.phase.per_sec()
    }

    /// The same ratio from process CPU per request, which other processes on a shared
    /// machine do not move: what the throughput ratio would be with both targets CPU-bound.
    fn cpu_ratio(&self) -> f64 {
        self.bare.phase.cpu_us_per_op() / self.forward.phase.cpu_us_per_op()
    }
}

/// Starts both servers, drives them in rounds and prints the table (and JSON with `--json`).
///
/// # Errors
/// A server would not start, the login failed, or any answer was not 200.
pub(super) async fn run(args: ForwardAuthArgs) -> anyhow::Result<()> {
    if args.seconds == 0 || args.connections == 0 || args.rounds == 0 {
        bail!("--seconds, --connections and --rounds must be at least 1");
    }
    let window = Duration::from_secs(args.seconds);
    let machine = machine()?;
    let (bare_addr, bare_task) = bare_server().await?;
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let http = reqwest::Client::new();
    let mut config = bench_config(dir.path());
    config.forward_auth = rules();
    let (server, _) = start_ready(config, &http).await?;
    create_account(&server, &http).await?;
    let token = access_token(&server, &http).await?;
    check_allowed(&server.url(), &token, &http).await?;

    let mut bare: Option<Load> = None;
    let mut forward: Option<Load> = None;
    let mut round_rates = Vec::new();
    for round in 0..args.rounds {
        let targets = [(false, bare_addr), (true, server.addr)];
        let mut rates = [0.0; 2];
        // Alternate which target goes first, so a drift in the machine favours neither.
        for (is_forward, addr) in targets.into_iter().cycle().skip(round % 2).take(2) {
            let result = load::run(addr, request(addr, &token), args.connections, window)
                .await
                .with_context(|| format!("round {}, {}", round + 1, name(is_forward)))?;
            rates[usize::from(is_forward)] = result.phase.per_sec();
            let total = if is_forward { &mut forward } else { &mut bare };
            *total = Some(match total.take() {
                Some(t) => t.plus(result),
                None => result,
            });
        }
        round_rates.push((rates[0], rates[1]));
    }
    server.stop().await?;
    bare_task.abort();
    // The token costs, for the record of what a forward-auth request spends besides HTTP.
    let (sign_per_sec, verify_per_sec) =
        tokio::task::spawn_blocking(|| token_rates(Duration::from_millis(500))).await??;

    let report = Report {
        machine,
        connections: args.connections,
        rounds: args.rounds,
        bare: bare.context("no bare round ran")?,
        forward: forward.context("no forward-auth round ran")?,
        round_rates,
        sign_per_sec,
        verify_per_sec,
    };
    print_table(&report);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    }
    Ok(())
}

fn name(is_forward: bool) -> &'static str {
    if is_forward {
        "forward-auth"
    } else {
        "bare handler"
    }
}

/// One rule: every path of `app.test` needs a valid session, and the upstream is `app`.
fn rules() -> ForwardAuthConfig {
    ForwardAuthConfig {
        rules: vec![Rule {
            host: Some(HOST.to_owned()),
            path_prefix: "/".to_owned(),
            methods: Vec::new(),
            audience: Some(AUDIENCE.to_owned()),
            roles: Vec::new(),
            acr: None,
            max_age: None,
            public: false,
        }],
        ..ForwardAuthConfig::default()
    }
}

/// A server with a single route, `GET /v1/forward-auth`, that answers 200 with no body.
async fn bare_server() -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new().route("/v1/forward-auth", get(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the bare bench server stopped");
        }
    });
    Ok((addr, task))
}

/// The sub-request a proxy sends for `GET https://app.test/dashboard?tab=1`.
fn request(addr: SocketAddr, token: &str) -> Arc<[u8]> {
    format!(
        "GET /v1/forward-auth HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Authorization: Bearer {token}\r\n\
         X-Forwarded-Method: GET\r\n\
         X-Forwarded-Host: {HOST}\r\n\
         X-Forwarded-Uri: /dashboard?tab=1\r\n\
         \r\n"
    )
    .into_bytes()
    .into()
}

/// One request through reqwest first: 200 with the identity headers, or the bench stops.
async fn check_allowed(url: &str, token: &str, http: &reqwest::Client) -> anyhow::Result<()> {
    let response = http
        .get(format!("{url}/v1/forward-auth"))
        .bearer_auth(token)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-host", HOST)
        .header("x-forwarded-uri", "/dashboard?tab=1")
        .send()
        .await?;
    let status = response.status();
    let has_identity = ["x-portcullis-subject", "x-portcullis-token"]
        .iter()
        .all(|h| response.headers().contains_key(*h));
    if status != StatusCode::OK || !has_identity {
        let body = response.text().await.unwrap_or_default();
        bail!("forward-auth answered {status} (identity headers: {has_identity}): {body}");
    }
    Ok(())
}

/// Prints the results as a table, each target with its verdict.
#[rustfmt::skip] // one row per line reads as the table it prints
fn print_table(r: &Report) {
    let ratio = r.ratio();
    let latency = |l: &Load| format!("{:.2} / {:.2} ms", ms(l.p50()), ms(l.p99()));
    let per_req = |l: &Load| format!("{:.1} µs", l.phase.cpu_us_per_op());
    let extra = r.forward.phase.cpu_us_per_op() - r.bare.phase.cpu_us_per_op();
    let cpu_ratio = r.cpu_ratio();
    let rounds = r.round_rates.iter().map(|(bare, fwd)| format!("{:.3}", fwd / bare)).collect::<Vec<_>>().join(", ");
    let none = String::new;
    let rows = [
        ("measurement", "result".to_owned(), none()),
        ("bare axum handler (200)", format!("{:.0} req/s", r.bare.phase.per_sec()), none()),
        ("  latency p50 / p99", latency(&r.bare), none()),
        ("  CPU user + sys | other processes", r.bare.phase.cpu_summary(), none()),
        ("  process CPU per request", per_req(&r.bare), none()),
        ("  response size", format!("{} bytes", r.bare.bytes_per_response()), none()),
        ("forward-auth (200, identity)", format!("{:.0} req/s", r.forward.phase.per_sec()), none()),
        ("  latency p50 / p99", latency(&r.forward), none()),
        ("  CPU user + sys | other processes", r.forward.phase.cpu_summary(), none()),
        ("  process CPU per request", per_req(&r.forward), none()),
        ("  response size", format!("{} bytes", r.forward.bytes_per_response()), none()),
        ("forward-auth / bare", format!("{ratio:.3}"), target(">= 0.70", ratio >= RATIO_TARGET)),
        ("  per round", rounds, none()),
        ("  by CPU per request (bare / f-a)", format!("{cpu_ratio:.3}"), none()),
        ("  CPU per request over bare", format!("{extra:.1} µs"), none()),
        ("EdDSA verify, 1 thread (TokenKeys)", format!("{:.1} µs", 1e6 / r.verify_per_sec), none()),
        ("EdDSA sign, 1 thread (TokenKeys)", format!("{:.1} µs", 1e6 / r.sign_per_sec), none()),
    ];
    let m = &r.machine;
    println!("Portcullis bench forward-auth");
    println!("machine: {} cores, {}, {} MiB RAM", m.cores, m.cpu, m.memory_mib);
    println!(
        "load:    {} keep-alive connections per target, {} rounds of {:.0} s each, alternating\n",
        r.connections, r.rounds, r.bare.phase.elapsed.as_secs_f64() / r.rounds as f64
    );
    print_rows(&rows);
    println!("\nCPU is the whole bench process: both servers, the load generator and the runtime.");
}

fn report_json(r: &Report) -> serde_json::Value {
    let target_json = |l: &Load| {
        let mut v = l.phase.json();
        v["p50_ms"] = json!(ms(l.p50()));
        v["p99_ms"] = json!(ms(l.p99()));
        v["bytes_per_response"] = json!(l.bytes_per_response());
        v
    };
    json!({
        "machine": r.machine.json(),
        "connections": r.connections,
        "rounds": r.rounds,
        "bare": target_json(&r.bare),
        "forward_auth": target_json(&r.forward),
        "ratio": r.ratio(),
        "rounds_per_sec": r.round_rates.iter().map(|(b, f)| json!({ "bare": b, "forward_auth": f })).collect::<Vec<_>>(),
        "cpu_per_request_ratio": r.cpu_ratio(),
        "ratio_target_met": r.ratio() >= RATIO_TARGET,
        "tokens": { "sign_per_sec": r.sign_per_sec, "verify_per_sec": r.verify_per_sec },
    })
}
