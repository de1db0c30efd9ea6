//! `portcullis bench login`: what this machine can do, measured in one run.
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
use portcullis_server::Server;
use portcullis_server::clock::{Clock as _, SystemClock};
use portcullis_server::config::Config;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

/// Options of `portcullis bench login`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
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

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "quiet harbour lanterns drift past violet cliffs";
/// How long a server may take to answer `/health` before the bench gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifted rate limits and back-off: the bench measures work, not the limiter.
const UNLIMITED: u32 = 1_000_000;

/// The machine the figures belong to.
struct Machine {
    cores: usize,
    cpu: String,
    memory_mib: u64,
}

/// When a server started: `start()` returned (bound) and `/health` first answered 200.
struct Startup {
    bound: Duration,
    ready: Duration,
}

/// CPU seconds and minor page faults of this process (`/proc/self/stat`), and the CPU
/// seconds every process on the machine spent (`/proc/stat`), to tell other load apart.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cpu {
    user: f64,
    sys: f64,
    faults: u64,
    machine_busy: f64,
}

/// One throughput measurement: operations done, wall time, and what the process spent.
struct Phase {
    ops: u64,
    elapsed: Duration,
    cpu: Cpu,
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
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
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
    let (server, existing) = start_ready(bench_config(dir.path()), &http).await?;
    let rss_idle_kib = rss_kib("VmRSS")?;
    let params = server.state.config.password.argon2;

    create_account(&server, &http).await?;
    let load = login_load(server.addr, args.clients, window).await?;
    let rss_after_load_kib = rss_kib("VmRSS")?;
    let rss_peak_kib = rss_kib("VmHWM")?;
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

/// Cores, CPU model and memory, from the OS and `/proc`.
fn machine() -> anyhow::Result<Machine> {
    let cores = std::thread::available_parallelism().map(|n| n.get())?;
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = proc_field(&cpuinfo, "model name")
        .unwrap_or("unknown")
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = proc_kib(&meminfo, "MemTotal").unwrap_or(0) / 1024;
    Ok(Machine {
        cores,
        cpu,
        memory_mib,
    })
}

/// The value of the first `key: value` line of a `/proc` file.
fn proc_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// A `/proc` field given in kB, e.g. `VmRSS:   12345 kB`.
fn proc_kib(text: &str, key: &str) -> Option<u64> {
    proc_field(text, key)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's resident memory (`VmRSS`) or its peak (`VmHWM`), in KiB.
fn rss_kib(key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    proc_kib(&status, key).ok_or_else(|| anyhow!("no {key} in /proc/self/status"))
}

/// Linux reports `/proc` times in `USER_HZ`, which is 100 for user space.
const USER_HZ: f64 = 100.0;

/// CPU time and minor faults so far.
fn cpu() -> anyhow::Result<Cpu> {
    let own = std::fs::read_to_string("/proc/self/stat").context("/proc/self/stat")?;
    let all = std::fs::read_to_string("/proc/stat").context("/proc/stat")?;
    let mut cpu = parse_stat(&own).ok_or_else(|| anyhow!("unreadable /proc/self/stat"))?;
    cpu.machine_busy = machine_busy(&all).ok_or_else(|| anyhow!("unreadable /proc/stat"))?;
    Ok(cpu)
}

/// Busy seconds of all CPUs from the `cpu` line of `/proc/stat`: everything but `idle` and
/// `iowait` (user, nice, system, irq, softirq, steal).
fn machine_busy(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((ticks.iter().sum::<u64>() - idle) as f64 / USER_HZ)
}

/// `minflt`, `utime` and `stime` (fields 10, 14 and 15 of `proc(5)`), counted after the
/// parenthesised command name, which may contain spaces.
fn parse_stat(stat: &str) -> Option<Cpu> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Cpu {
        faults: field(10)?,
        user: field(14)? as f64 / USER_HZ,
        sys: field(15)? as f64 / USER_HZ,
        machine_busy: 0.0,
    })
}

impl Cpu {
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            user: self.user - before.user,
            sys: self.sys - before.sys,
            faults: self.faults.saturating_sub(before.faults),
            machine_busy: self.machine_busy - before.machine_busy,
        }
    }
}

impl Phase {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// Cores kept busy by this process, as (user, system).
    fn cores(&self) -> (f64, f64) {
        let secs = self.elapsed.as_secs_f64();
        (self.cpu.user / secs, self.cpu.sys / secs)
    }

    /// Cores kept busy by other processes (and the hypervisor's steal) meanwhile.
    fn other_cores(&self) -> f64 {
        let own = self.cpu.user + self.cpu.sys;
        ((self.cpu.machine_busy - own) / self.elapsed.as_secs_f64()).max(0.0)
    }

    /// Process CPU milliseconds per operation.
    fn cpu_ms_per_op(&self) -> f64 {
        (self.cpu.user + self.cpu.sys) * 1000.0 / self.ops.max(1) as f64
    }

    fn faults_per_op(&self) -> u64 {
        self.cpu.faults / self.ops.max(1)
    }

    fn json(&self) -> serde_json::Value {
        let (user, sys) = self.cores();
        json!({
            "count": self.ops,
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "per_sec": self.per_sec(),
            "cpu_user_cores": user,
            "cpu_sys_cores": sys,
            "other_processes_cores": self.other_cores(),
            "cpu_ms_per_op": self.cpu_ms_per_op(),
            "minor_faults_per_op": self.faults_per_op(),
        })
    }
}

/// The server configuration under test: defaults (argon2 included), port 0, SQLite in `dir`,
/// limits lifted.
fn bench_config(dir: &Path) -> Config {
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
    config
}

/// Starts a server and waits until `/health` answers 200, timing both steps from the call.
async fn start_ready(config: Config, http: &reqwest::Client) -> anyhow::Result<(Server, Startup)> {
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

/// Registers the bench account over HTTP and marks it verified in the store.
async fn create_account(server: &Server, http: &reqwest::Client) -> anyhow::Result<()> {
    let response = http
        .post(format!("{}/v1/accounts", server.url()))
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if status != reqwest::StatusCode::CREATED {
        bail!("registration answered {status}: {body}");
    }
    let id: AccountId = body["id"]
        .as_str()
        .ok_or_else(|| anyhow!("registration answer has no id: {body}"))?
        .parse()?;
    let now = server.state.now();
    if !server.state.store.accounts.mark_verified(id, now).await? {
        bail!("account {id} could not be marked verified");
    }
    Ok(())
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

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

/// Access tokens signed, then verified, per second on one thread, `window` each.
fn token_rates(window: Duration) -> anyhow::Result<(f64, f64)> {
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Prints the results as a table, each target with its verdict.
#[rustfmt::skip] // one row per line reads as the table it prints
fn print_table(r: &Report) {
    let (m, p, hashing, load) = (&r.machine, r.params, &r.hashing, &r.load);
    let ratio = load.phase.per_sec() / hashing.per_sec();
    let ready_ok = r.existing.ready <= Duration::from_millis(300);
    let startup = |s: &Startup| format!("{:.1} / {:.1} ms", ms(s.bound), ms(s.ready));
    let cost = hashing.cpu_ms_per_op() / load.phase.cpu_ms_per_op();
    let cpu = |ph: &Phase| {
        let (user, sys) = ph.cores();
        format!("{user:.2} + {sys:.2} | {:.2} cores", ph.other_cores())
    };
    let per_op = |ph: &Phase| format!("{:.1} ms, {}", ph.cpu_ms_per_op(), ph.faults_per_op());
    // The first server is the only one its process has started, as with `portcullis serve`;
    // the second inherits the allocator's state from the first (see BENCHMARKS.md).
    let idle_ok = mb(r.rss_idle_fresh_kib) <= 40.0;
    let none = String::new;
    let rows = [
        ("measurement", "result".to_owned(), none()),
        ("argon2id verifications, all cores", format!("{:.1}/s", hashing.per_sec()), none()),
        ("  CPU user + sys | other processes", cpu(hashing), none()),
        ("  CPU time, minor faults per op", per_op(hashing), none()),
        ("password logins over HTTP", format!("{:.1}/s", load.phase.per_sec()), none()),
        ("  latency p50 / p99", format!("{:.0} / {:.0} ms", ms(load.p50), ms(load.p99)), none()),
        ("  CPU user + sys | other processes", cpu(&load.phase), none()),
        ("  CPU time, minor faults per op", per_op(&load.phase), none()),
        ("  logins / hashing bound", format!("{ratio:.3}"), target(">= 0.90", ratio >= 0.9)),
        ("  CPU per hash / CPU per login", format!("{cost:.3}"), none()),
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
    for (name, value, target) in rows {
        println!("{name:<36} {value:>28}  {target}");
    }
    println!("\nRSS and CPU are the whole bench process (server, HTTP clients, runtime); MB = 10^6 B.");
}

fn target(goal: &str, met: bool) -> String {
    format!("{goal:<10} {}", if met { "met" } else { "MISSED" })
}

fn megabytes(kib: u64) -> String {
    format!("{:.1} MB", mb(kib))
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
    json!({
        "machine": { "cores": r.machine.cores, "cpu": r.machine.cpu, "memory_mib": r.machine.memory_mib },
        "argon2": { "memory_kib": r.params.memory_kib, "iterations": r.params.iterations, "parallelism": r.params.parallelism },
        "hashing_bound": r.hashing.json(),
        "logins": logins,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_fields() {
        let status = "Name:\tportcullis\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(proc_kib(status, "VmRSS"), Some(1024));
        assert_eq!(proc_kib(status, "VmHWM"), Some(2048));
        assert_eq!(proc_kib(status, "VmSwap"), None);
        assert_eq!(
            proc_field("model name\t: AMD EPYC\n", "model name"),
            Some("AMD EPYC")
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn reads_proc_stat() {
        let stat = "4242 (tokio (x) 1) S 1 4242 4242 0 -1 4194560 9876 0 0 0 250 31 0 0 20 0 7 0";
        let cpu = parse_stat(stat);
        assert_eq!(
            cpu,
            Some(Cpu {
                user: 2.5,
                sys: 0.31,
                faults: 9876,
                machine_busy: 0.0,
            })
        );
        assert_eq!(parse_stat("4242 (short) S 1"), None);
        let all = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(machine_busy(all), Some(1.61));
    }
}
