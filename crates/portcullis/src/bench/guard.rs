//! `portcullis bench guard`: how many access tokens `portcullis_guard::Guard` verifies per
//! second on one core, the first time it sees each and from its cache, against the cost of the
//! Ed25519 check alone.
//!
//! On one thread, in one run:
//!
//! - **raw**: `ed25519_dalek::VerifyingKey::verify` over the signing inputs of a pool of
//!   distinct tokens, key parsed and signatures decoded beforehand: the floor any
//!   verification of these tokens pays;
//! - **first sight**: `Guard::verify` on each token of the same pool once, so every call
//!   parses, checks the signature and claims, and inserts into the cache (which fills up and
//!   evicts, as under a stream of new sessions);
//! - two variants that say where first sight spends beyond raw: raw with the public key
//!   decoded from its 32 bytes for every token (what `jsonwebtoken` does on each `decode`),
//!   and a second guard whose cache is off (first sight without the insert).
//!
//! These four are interleaved: slices of 64 tokens, one kind after the other in an order that
//! rotates, each kind timed over its own slices. A shared machine (another process on the
//! core's sibling, a frequency change) then weighs on all four alike, and the ratio holds
//! where back-to-back phases would drift apart. Then, on its own:
//!
//! - **cached**: `Guard::verify` on one token over and over.
//!
//! The tokens are signed before anything is measured ([`super::token_pool`]). The guards get
//! the key set from a local JWKS endpoint once, before the phases, and know of revoked
//! sessions (unrelated ones), so each verification checks a non-empty list.

use anyhow::bail;
use ed25519_dalek::{Verifier as _, VerifyingKey};
use portcullis_core::token::TokenKeys;
use portcullis_guard::{Guard, GuardConfig};
use portcullis_server::clock::{Clock as _, SystemClock};
use serde_json::json;
use std::time::{Duration, Instant};

use super::proc::{Cpu, Machine, cpu, machine, thread_sched};
use super::token_pool::{
    AUDIENCE, ISSUER, Signed, pool_size, serve_jwks, sign_pool, verifying_key,
};
use super::{Phase, print_rows, target};

/// Options of `portcullis bench guard`.
#[derive(clap::Args, Debug)]
pub struct GuardArgs {
    /// Seconds per measurement (each of the four interleaved kinds, then the cached one).
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Distinct tokens signed for the first-sight measurements; by default enough to last
    /// `--seconds` at the raw rate a short calibration finds.
    #[arg(long)]
    pub tokens: Option<usize>,
    /// Capacity of the guard's verified-token cache (the guard's default when absent).
    #[arg(long)]
    pub cache_capacity: Option<usize>,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// Sessions the guard knows to be revoked (none of the pool's).
const REVOKED_SESSIONS: usize = 100;
/// Tokens per slice of one kind (and operations between two readings of the clock).
const CHECK_EVERY: usize = 64;
/// The interleaved kinds, in their index order.
const KINDS: [&str; 4] = [
    "raw",
    "raw, key decoded",
    "first sight, cache off",
    "first sight",
];
const RAW: usize = 0;
const FIRST: usize = 3;
/// Targets: first sight ÷ raw, and cached verifications per second.
const FIRST_SIGHT_TARGET: f64 = 0.8;
const CACHED_TARGET: f64 = 1_000_000.0;

/// Every figure of one run.
struct Report {
    machine: Machine,
    tokens: usize,
    token_bytes: usize,
    cache_capacity: usize,
    cached_after: usize,
    /// The four interleaved kinds, as in [`KINDS`].
    kinds: [Slices; 4],
    /// The whole interleaved stretch (for the CPU and contention figures).
    interleaved: Run,
    cached: Run,
}

/// Tokens done and time spent in the slices of one kind.
#[derive(Clone, Copy, Debug, Default)]
struct Slices {
    ops: u64,
    time: Duration,
}

impl Slices {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.time.as_secs_f64()
    }

    fn micros(&self) -> f64 {
        1e6 / self.per_sec()
    }
}

/// One phase: the process's figures, and the measuring thread's own time on a CPU and
/// waiting for one (exact, from the scheduler).
struct Run {
    phase: Phase,
    on_cpu: Duration,
    waited: Duration,
}

impl Run {
    fn per_sec(&self) -> f64 {
        self.phase.per_sec()
    }

    /// Operations per second of the thread's CPU time: the per-core rate, which other
    /// processes on a shared machine leave alone (they make the thread wait for a CPU, which
    /// lengthens the wall time, not the CPU time of an operation).
    fn per_cpu_sec(&self) -> f64 {
        self.phase.ops as f64 / self.on_cpu.as_secs_f64()
    }

    fn cpu_us_per_op(&self) -> f64 {
        1e6 / self.per_cpu_sec()
    }

    /// The stretch from `start` until now, with `ops` operations.
    fn since(start: &Start, ops: u64) -> anyhow::Result<Self> {
        let elapsed = start.at.elapsed();
        let (sched, cpu) = (thread_sched()?, cpu()?);
        Ok(Run {
            phase: Phase {
                ops,
                elapsed,
                cpu: cpu.since(start.cpu),
            },
            on_cpu: Duration::from_nanos(sched.0.saturating_sub(start.sched.0)),
            waited: Duration::from_nanos(sched.1.saturating_sub(start.sched.1)),
        })
    }

    /// `waited for a CPU | other processes`.
    fn contention(&self) -> String {
        let waited = self.waited.as_secs_f64() / self.phase.elapsed.as_secs_f64();
        format!(
            "{:.1} % | {:.2} cores",
            waited * 100.0,
            self.phase.other_cores()
        )
    }

    fn json(&self) -> serde_json::Value {
        let mut v = self.phase.json();
        v["thread_on_cpu_secs"] = json!(self.on_cpu.as_secs_f64());
        v["thread_waited_secs"] = json!(self.waited.as_secs_f64());
        v["per_cpu_sec"] = json!(self.per_cpu_sec());
        v
    }
}

/// Where a stretch of measurement began.
struct Start {
    at: Instant,
    cpu: Cpu,
    sched: (u64, u64),
}

impl Start {
    fn now() -> anyhow::Result<Self> {
        Ok(Self {
            cpu: cpu()?,
            sched: thread_sched()?,
            at: Instant::now(),
        })
    }
}

impl Report {
    /// First sight ÷ raw, from the time spent in their interleaved slices.
    fn first_over_raw(&self) -> f64 {
        self.kinds[FIRST].per_sec() / self.kinds[RAW].per_sec()
    }
}

/// Runs the measurements and prints the table (and JSON with `--json`).
///
/// # Errors
/// A token did not verify, a phase did not take the path it measures (a cache hit during
/// first sight, a signature check while cached), or the key set could not be served.
pub(super) async fn run(args: GuardArgs) -> anyhow::Result<()> {
    if args.seconds == 0 || args.tokens == Some(0) {
        bail!("--seconds and --tokens must be at least 1");
    }
    let window = Duration::from_secs(args.seconds);
    let machine = machine()?;
    let now = SystemClock.now();
    // A throw-away key: it signs nothing but these benchmark tokens.
    let keys = TokenKeys::generate([0x42; 32], now)?;
    let (jwks_url, server) = serve_jwks(keys.jwks()).await?;
    let mut config = GuardConfig::builder(ISSUER, AUDIENCE, jwks_url);
    if let Some(capacity) = args.cache_capacity {
        config = config.cache_capacity(capacity);
    }
    let guard = Guard::new(config.clone().build())?;
    let uncached = Guard::new(config.cache_capacity(0).build())?;
    for g in [&guard, &uncached] {
        g.jwks().refresh().await?;
        for i in 0..REVOKED_SESSIONS {
            g.revoke_session(&format!("revoked-{i}"));
        }
    }
    server.abort();
    let key = verifying_key(&keys.jwks())?;

    let report = tokio::task::spawn_blocking(move || {
        let count = match args.tokens {
            Some(n) => n,
            None => pool_size(&keys, &key, now, window)?,
        };
        let pool = sign_pool(&keys, now, count)?;
        measure_all([&guard, &uncached], &key, &pool, window, machine)
    })
    .await??;
    print_table(&report);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    }
    Ok(())
}

/// The measurements on this thread, with a single-threaded runtime for the guards' futures.
fn measure_all(
    [guard, uncached]: [&Guard; 2],
    key: &VerifyingKey,
    pool: &[Signed],
    window: Duration,
    machine: Machine,
) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let key_bytes = key.to_bytes();
    runtime.block_on(async {
        let before = guard.stats();
        let (kinds, interleaved) = interleave(window, pool.len(), async |kind, i| {
            let s = &pool[i];
            match kind {
                RAW => key.verify(s.signing_input(), &s.signature)?,
                1 => {
                    VerifyingKey::from_bytes(&key_bytes)?.verify(s.signing_input(), &s.signature)?
                }
                2 => drop(uncached.verify(&s.token).await?),
                _ => drop(guard.verify(&s.token).await?),
            }
            Ok(())
        })
        .await?;
        let after = guard.stats();
        if after.cache_hits() != before.cache_hits()
            || after.signature_checks() - before.signature_checks() != kinds[FIRST].ops
        {
            bail!("first sight was answered from the cache: {before:?} → {after:?}");
        }

        let token = &pool[0].token;
        guard.verify(token).await?;
        let before = guard.stats();
        let cached = repeat(window, async || {
            guard.verify(token).await.map(drop).map_err(Into::into)
        })
        .await?;
        let after = guard.stats();
        if after.signature_checks() != before.signature_checks()
            || after.cache_hits() - before.cache_hits() != cached.phase.ops
        {
            bail!("a cached verification checked a signature: {before:?} → {after:?}");
        }
        Ok(Report {
            machine,
            tokens: pool.len(),
            token_bytes: token.len(),
            cache_capacity: guard.config().cache_capacity(),
            cached_after: after.cached_tokens(),
            kinds,
            interleaved,
            cached,
        })
    })
}

/// Calls `op(kind, i)` for every kind on the tokens of a slice (`CHECK_EVERY` of them), kind
/// after kind in an order that rotates from slice to slice, timing each kind over its own
/// slices; until the pool (`limit` tokens) runs out or `window` per kind has passed.
async fn interleave(
    window: Duration,
    limit: usize,
    mut op: impl AsyncFnMut(usize, usize) -> anyhow::Result<()>,
) -> anyhow::Result<([Slices; 4], Run)> {
    let start = Start::now()?;
    let budget = window * KINDS.len() as u32;
    let mut kinds = [Slices::default(); 4];
    let (mut next, mut slice) = (0, 0);
    while next < limit && start.at.elapsed() < budget {
        let end = next.saturating_add(CHECK_EVERY).min(limit);
        for k in 0..kinds.len() {
            let kind = (slice + k) % kinds.len();
            let t = Instant::now();
            for i in next..end {
                op(kind, i).await?;
            }
            kinds[kind].time += t.elapsed();
            kinds[kind].ops += (end - next) as u64;
        }
        (next, slice) = (end, slice + 1);
    }
    let ops = kinds.iter().map(|k| k.ops).sum();
    Ok((kinds, Run::since(&start, ops)?))
}

/// Calls `op` over and over for `window` (the clock is read every [`CHECK_EVERY`] calls).
async fn repeat(
    window: Duration,
    mut op: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Run> {
    let start = Start::now()?;
    let mut done = 0u64;
    while start.at.elapsed() < window {
        for _ in 0..CHECK_EVERY {
            op().await?;
        }
        done += CHECK_EVERY as u64;
    }
    Run::since(&start, done)
}

/// Prints the results as a table, each target with its verdict.
#[rustfmt::skip] // one row per line reads as the table it prints
fn print_table(r: &Report) {
    let ratio = r.first_over_raw();
    let cached = r.cached.per_cpu_sec();
    let overhead = r.kinds[FIRST].micros() - r.kinds[RAW].micros();
    let rate = |s: &Slices| format!("{:.0}/s, {:.2} µs", s.per_sec(), s.micros());
    let cached_rate = format!("{:.0} | {:.0}/s", r.cached.per_sec(), cached);
    let none = String::new;
    let rows = [
        ("measurement (1 thread)", "rate, time per op".to_owned(), none()),
        ("raw Ed25519 verify (ed25519-dalek)", rate(&r.kinds[RAW]), none()),
        ("  with the key decoded per token", rate(&r.kinds[1]), none()),
        ("guard, first sight, cache off", rate(&r.kinds[2]), none()),
        ("guard, first sight (cache insert)", rate(&r.kinds[FIRST]), none()),
        ("  first sight / raw", format!("{ratio:.3}"), target(">= 0.80", ratio >= FIRST_SIGHT_TARGET)),
        ("  cost over raw, per token", format!("{overhead:.2} µs"), none()),
        ("  waited for a CPU | other processes", r.interleaved.contention(), none()),
        ("guard, cached: wall | per CPU-second", cached_rate, target(">= 1M/s", cached >= CACHED_TARGET)),
        ("  time per op (CPU)", format!("{:.3} µs", r.cached.cpu_us_per_op()), none()),
        ("  waited for a CPU | other processes", r.cached.contention(), none()),
    ];
    let m = &r.machine;
    println!("Portcullis bench guard");
    println!("machine: {} cores, {}, {} MiB RAM", m.cores, m.cpu, m.memory_mib);
    println!(
        "tokens:  {} distinct, {} bytes each; cache capacity {} ({} held after the run); {} revoked sessions known\n",
        r.tokens, r.token_bytes, r.cache_capacity, r.cached_after, REVOKED_SESSIONS
    );
    print_rows(&rows);
    println!("\nThe first four are interleaved in slices of {CHECK_EVERY} tokens and timed over their own slices.");
    println!("The cached target is judged per second of the thread's own CPU time (the per-core rate).");
}

fn report_json(r: &Report) -> serde_json::Value {
    let kinds: serde_json::Map<String, serde_json::Value> = KINDS
        .iter()
        .zip(&r.kinds)
        .map(|(name, k)| {
            let v = json!({ "count": k.ops, "secs": k.time.as_secs_f64(), "per_sec": k.per_sec() });
            ((*name).to_owned(), v)
        })
        .collect();
    json!({
        "machine": r.machine.json(),
        "tokens": r.tokens,
        "token_bytes": r.token_bytes,
        "cache_capacity": r.cache_capacity,
        "interleaved": kinds,
        "interleaved_stretch": r.interleaved.json(),
        "cached": r.cached.json(),
        "first_sight_over_raw": r.first_over_raw(),
        "first_sight_target_met": r.first_over_raw() >= FIRST_SIGHT_TARGET,
        "cached_target_met": r.cached.per_cpu_sec() >= CACHED_TARGET,
    })
}
