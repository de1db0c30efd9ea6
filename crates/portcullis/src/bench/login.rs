//! `portcullis bench login`: logins over HTTP against the argon2id bound they contain.
//!
//! A login is bound by argon2id, so the bench drives a real server in-process over HTTP and
//! reports logins per second against that bound, measured on its own (every core verifying a
//! known hash). Token signing and verification, idle memory and the time to readiness on an
//! existing database complete the picture. Everything runs against a throw-away data
//! directory with the default argon2 parameters and the rate limits lifted, so the figures
//! show the cost of the work, not of the limits.
//!
//! The HTTP clients run in the same process and share its cores, and so does anything else on
//! the machine; each throughput phase therefore also reports the CPU the process used, its
//! minor page faults, and the CPU other processes took meanwhile, read from `/proc`.

use anyhow::{Context as _, anyhow, bail};
use portcullis_core::ids::AccountId;
use portcullis_core::password::{Argon2Params, Password, PasswordHasher, Verification};
use portcullis_core::token::{AccessClaims, Expectation, TokenKeys};
use portcullis_server::clock::{Clock as _, SystemClock};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

use super::pattern;
use super::proc::{Machine, cpu, machine, rss_kib};
use super::server::{EMAIL, PASSWORD, Startup, bench_config, create_account, start_ready};
use super::{Phase, ms, percentile, print_rows, target};

/// Options of `portcullis bench login`.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// What the HTTP login load achieved.
struct LoginLoad {
    phase: Phase,
    p50: Duration,
    p99: Duration,
}

/// Every figure of one run.
struct Report {
    machine: Machine,
    params: Argon2Params,
    args_clients: usize,
    hashing: Phase,
    load: LoginLoad,
    pattern: LoginLoad,
    sign_per_sec: f64,
    verify_per_sec: f64,
    rss_before_kib: u64,
    rss_idle_fresh_kib: u64,
    rss_idle_kib: u64,
    rss_after_load_kib: u64,
    rss_peak_kib: u64,
    fresh: Startup,
    existing: Startup,
}

/// Runs every measurement and prints the table (and JSON with `--json`).
///
/// # Errors
/// The server would not start, a login did not answer 201, or `/proc` was unreadable.
pub(super) async fn run(args: LoginArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.seconds == 0 {
        bail!("--clients and --seconds must be at least 1");
    }
    let window = Duration::from_secs(args.seconds);
    let machine = machine()?;
    let rss_before_kib = rss_kib("VmRSS")?;
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let http = reqwest::Client::new();

    let (first, fresh) = start_ready(bench_config(dir.path()), &http).await?;
    let rss_idle_fresh_kib = rss_kib("VmRSS")?;
    first.stop().await?;
    // The restarted server also texts pattern OTPs, to a receiver in this process.
    let sink = pattern::start_sink().await?;
    let mut config = bench_config(dir.path());
    pattern::configure(&mut config, &sink)?;
    let (server, existing) = start_ready(config, &http).await?;
    let rss_idle_kib = rss_kib("VmRSS")?;
    let params = server.state.config().password.argon2;

    create_account(&server, &http).await?;
    let load = login_load(server.addr, args.clients, window).await?;
    let rss_after_load_kib = rss_kib("VmRSS")?;
    let rss_peak_kib = rss_kib("VmHWM")?;
    // After the RSS figures, so they stay those of the password logins alone.
    let (phase, p50, p99) = pattern::pattern_load(&server, &sink, args.clients, window).await?;
    let pattern = LoginLoad { phase, p50, p99 };
    server.stop().await?;
    // The bound runs after the load so the RSS figures hold nothing of its own threads.
    let hashing = tokio::task::spawn_blocking(move || hashing_bound(params, window)).await??;
    let (sign_per_sec, verify_per_sec) =
        tokio::task::spawn_blocking(move || token_rates(window / 2)).await??;

    let report = Report {
        machine,
        params,
        args_clients: args.clients,
        hashing,
        load,
        pattern,
        sign_per_sec,
        verify_per_sec,
        rss_before_kib,
        rss_idle_fresh_kib,
        rss_idle_kib,
        rss_after_load_kib,
        rss_peak_kib,
        fresh,
        existing,
    };
    print_table(&report);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    }
    Ok(())
}

/// argon2id verifications with one thread per core, each checking a known hash until the
/// window closes.
fn hashing_bound(params: Argon2Params, window: Duration) -> anyhow::Result<Phase> {
    let hasher = PasswordHasher::new(params)?;
    let password = Password::new(PASSWORD.to_owned());
    let hash = hasher.hash(&password, [0x5a; 16])?;
    let threads = std::thread::available_parallelism().map(|n| n.get())?;
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let deadline = t0 + window;
    let per_thread: Vec<anyhow::Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        if !matches!(hasher.verify(&password, &hash)?, Verification::Match { .. }) {
                            bail!("the known hash did not verify");
                        }
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow!("hashing thread panicked"))
                    .and_then(|done| done)
            })
            .collect()
    });
    Ok(Phase {
        ops: per_thread.into_iter().sum::<anyhow::Result<u64>>()?,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    })
}

/// `clients` keep-alive clients logging in back to back for `window`; after one warm-up login
/// each, they start together.
async fn login_load(
    addr: SocketAddr,
    clients: usize,
    window: Duration,
) -> anyhow::Result<LoginLoad> {
    let url = format!("http://{addr}/v1/sessions");
    let barrier = Arc::new(Barrier::new(clients + 1));
    let workers: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(login_worker(url.clone(), barrier.clone(), window)))
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
    Ok(LoginLoad {
        phase,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

/// One client: a warm-up login, the barrier, then logins until the window closes.
async fn login_worker(
    url: String,
    barrier: Arc<Barrier>,
    window: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let body = json!({ "email": EMAIL, "password": PASSWORD });
    let login = async || -> anyhow::Result<Duration> {
        let t = Instant::now();
        let response = http.post(&url).json(&body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if status != reqwest::StatusCode::CREATED {
            bail!("login answered {status}: {text}");
        }
        Ok(t.elapsed())
    };
    let warm_up = login().await;
    barrier.wait().await;
    warm_up?;
    let deadline = Instant::now() + window;
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        latencies.push(login().await?);
    }
    Ok(latencies)
}

/// Access tokens signed, then verified, per second on one thread, `window` each.
pub(super) fn token_rates(window: Duration) -> anyhow::Result<(f64, f64)> {
    let now = SystemClock.now();
    // A throw-away key: it signs nothing but these benchmark tokens.
    let keys = TokenKeys::generate([0x42; 32], now)?;
    let claims = AccessClaims {
        iss: "http://127.0.0.1:8080".to_owned(),
        sub: AccountId::new(SystemClock.now_millis(), [7; 10]).to_string(),
        aud: "portcullis".to_owned(),
        exp: now + 600,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::now_v7().to_string(),
        sid: uuid::Uuid::now_v7().to_string(),
        acr: "aal1".to_owned(),
        amr: vec!["pwd".to_owned()],
        roles: vec!["user".to_owned()],
        auth_time: now,
        scope: None,
        cnf: None,
    };
    let expect = Expectation {
        issuer: &claims.iss,
        audience: &claims.aud,
        leeway_secs: 30,
    };
    let token = keys.sign(&claims)?;
    let sign = per_second(window, || keys.sign(&claims).map(drop))?;
    let verify = per_second(window, || keys.verify(&token, &expect, now).map(drop))?;
    Ok((sign, verify))
}

/// How many times per second `op` succeeds when looped for `window`.
fn per_second<E>(window: Duration, mut op: impl FnMut() -> Result<(), E>) -> anyhow::Result<f64>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < window {
        op()?;
        done += 1;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1_000_000.0
}

fn megabytes(kib: u64) -> String {
    format!("{:.1} MB", mb(kib))
}

/// Prints the results as a table, each target with its verdict.
#[rustfmt::skip] // one row per line reads as the table it prints
fn print_table(r: &Report) {
    let (m, p, hashing, load) = (&r.machine, r.params, &r.hashing, &r.load);
    let ratio = load.phase.per_sec() / hashing.per_sec();
    let ready_ok = r.existing.ready <= Duration::from_millis(300);
    let startup = |s: &Startup| format!("{:.1} / {:.1} ms", ms(s.bound), ms(s.ready));
    let cost = hashing.cpu_ms_per_op() / load.phase.cpu_ms_per_op();
    let pattern_ratio = r.pattern.phase.per_sec() / load.phase.per_sec();
    let per_op = |ph: &Phase| format!("{:.1} ms, {}", ph.cpu_ms_per_op(), ph.faults_per_op());
    // The first server is the only one its process has started, as with `portcullis serve`;
    // the second inherits the allocator's state from the first (see BENCHMARKS.md).
    let idle_ok = mb(r.rss_idle_fresh_kib) <= 40.0;
    let none = String::new;
    let rows = [
        ("measurement", "result".to_owned(), none()),
        ("argon2id verifications, all cores", format!("{:.1}/s", hashing.per_sec()), none()),
        ("  CPU user + sys | other processes", hashing.cpu_summary(), none()),
        ("  CPU time, minor faults per op", per_op(hashing), none()),
        ("password logins over HTTP", format!("{:.1}/s", load.phase.per_sec()), none()),
        ("  latency p50 / p99", format!("{:.0} / {:.0} ms", ms(load.p50), ms(load.p99)), none()),
        ("  CPU user + sys | other processes", load.phase.cpu_summary(), none()),
        ("  CPU time, minor faults per op", per_op(&load.phase), none()),
        ("  logins / hashing bound", format!("{ratio:.3}"), target(">= 0.90", ratio >= 0.9)),
        ("  CPU per hash / CPU per login", format!("{cost:.3}"), none()),
        ("password + pattern OTP (SMS) logins", format!("{:.1}/s", r.pattern.phase.per_sec()), none()),
        ("  latency p50 / p99", format!("{:.0} / {:.0} ms", ms(r.pattern.p50), ms(r.pattern.p99)), none()),
        ("  CPU time, minor faults per op", per_op(&r.pattern.phase), none()),
        ("  pattern logins / password logins", format!("{pattern_ratio:.3}"), none()),
        ("access token sign, 1 thread", format!("{:.0}/s", r.sign_per_sec), none()),
        ("access token verify, 1 thread", format!("{:.0}/s", r.verify_per_sec), none()),
        ("RSS before any server", megabytes(r.rss_before_kib), none()),
        ("idle RSS, first start (fresh DB)", megabytes(r.rss_idle_fresh_kib), target("<= 40 MB", idle_ok)),
        ("idle RSS, restart (existing DB)", megabytes(r.rss_idle_kib), none()),
        ("RSS after the login load", megabytes(r.rss_after_load_kib), none()),
        ("peak RSS (VmHWM) through the load", megabytes(r.rss_peak_kib), none()),
        ("start, fresh DB: bound / ready", startup(&r.fresh), none()),
        ("start, existing DB: bound / ready", startup(&r.existing), target("<= 300 ms", ready_ok)),
    ];
    println!("Portcullis bench login");
    println!("machine:  {} cores, {}, {} MiB RAM", m.cores, m.cpu, m.memory_mib);
    println!("argon2id: m={} KiB, t={}, p={}", p.memory_kib, p.iterations, p.parallelism);
    println!("load:     {} HTTP clients, keep-alive\n", r.args_clients);
    print_rows(&rows);
    println!("\nRSS and CPU are the whole bench process (server, HTTP clients, runtime); MB = 10^6 B.");
}

fn report_json(r: &Report) -> serde_json::Value {
    let ratio = r.load.phase.per_sec() / r.hashing.per_sec();
    let mut logins = r.load.phase.json();
    logins["clients"] = json!(r.args_clients);
    logins["p50_ms"] = json!(ms(r.load.p50));
    logins["p99_ms"] = json!(ms(r.load.p99));
    logins["ratio_to_hashing_bound"] = json!(ratio);
    logins["cpu_per_hash_over_cpu_per_login"] =
        json!(r.hashing.cpu_ms_per_op() / r.load.phase.cpu_ms_per_op());
    let mut pattern = r.pattern.phase.json();
    pattern["p50_ms"] = json!(ms(r.pattern.p50));
    pattern["p99_ms"] = json!(ms(r.pattern.p99));
    pattern["ratio_to_password_logins"] = json!(r.pattern.phase.per_sec() / r.load.phase.per_sec());
    json!({
        "machine": r.machine.json(),
        "argon2": { "memory_kib": r.params.memory_kib, "iterations": r.params.iterations, "parallelism": r.params.parallelism },
        "hashing_bound": r.hashing.json(),
        "logins": logins,
        "pattern_otp_logins": pattern,
        "tokens": { "sign_per_sec": r.sign_per_sec, "verify_per_sec": r.verify_per_sec },
        "rss_kib": {
            "before_server": r.rss_before_kib,
            "idle_after_first_start": r.rss_idle_fresh_kib,
            "idle_after_restart": r.rss_idle_kib,
            "after_login_load": r.rss_after_load_kib,
            "peak": r.rss_peak_kib,
        },
        "startup_ms": {
            "fresh_bound": ms(r.fresh.bound),
            "fresh_ready": ms(r.fresh.ready),
            "existing_bound": ms(r.existing.bound),
            "existing_ready": ms(r.existing.ready),
        },
    })
}
