//! `portcullis bench ledger`: durable token operations per second through `TokenLedger`,
//! against what the storage underneath can do, and what proof verification costs.
//!
//! - **appends**: `--tasks` tasks each mint a token of their own and burn it, over and over,
//!   for `--seconds`, on a fresh `req` ledger in a temp data directory (SQLite, the shipped
//!   settings: WAL, `synchronous = FULL`) and, with `--postgres`, in a fresh schema on that
//!   server. Every operation counted was answered, so it was committed; the receipts' head
//!   sizes tell how many commits there were, so the mean group-commit batch.
//! - **bound** ([`bound`]), measured in the same run on the same disk: `write` + `fdatasync`
//!   of one file, per second (what any durable commit waits for), and a bare batched insert
//!   of as many rows as the ledger appended, in batches of its mean size, into a bare table
//!   with the same settings. The ratio ledger ÷ bare insert says what the Merkle tree, the
//!   token index and the signed head cost over the rows alone.
//! - **proofs** ([`proof`]): verifying an inclusion proof in a tree of `--proof-leaves`
//!   leaves, against one SHA-256 of the proof's own bytes.
//!
//! Target: ≥ 10,000 durable operations per second (SQLite, release build).

mod bound;
mod proof;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use portcullis_ledger::note::NoteSigner;
use portcullis_ledger::{Ledger, LedgerName, Location, TokenLedger};
use serde_json::{Map, json};

use super::proc;
use super::{Phase, ms, percentile, print_rows, target};

/// Options of `portcullis bench ledger`.
#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    /// Concurrent tasks, each minting and burning its own tokens.
    #[arg(long, default_value_t = 256)]
    pub tasks: u32,
    /// Seconds of appends per backend.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Also run on this PostgreSQL database (a schema `ledger_req` is made in it).
    #[arg(long, env = "PORTCULLIS_BENCH_PG_URL")]
    pub postgres: Option<String>,
    /// Leaves of the in-memory tree whose inclusion proofs are verified.
    #[arg(long, default_value_t = 1_000_000)]
    pub proof_leaves: u64,
    /// Where the temp data directory is made (the disk under test); the system's temp
    /// directory by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Name tokens `b<run>-<task>-<n>` and give every task the same owner (the workload of
    /// the first measurement), instead of UUIDv7 ids and an address per task: keys spread
    /// over 256 places in the token index rather than growing at one end.
    #[arg(long)]
    pub spread_ids: bool,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// Durable operations per second the ledger should reach.
const TARGET_OPS: f64 = 10_000.0;

/// What one append run measured.
struct Appends {
    phase: Phase,
    pairs: u64,
    commits: u64,
    latencies: Vec<Duration>,
    mean_body: usize,
}

impl Appends {
    fn mean_batch(&self) -> f64 {
        self.phase.ops as f64 / self.commits.max(1) as f64
    }
}

/// Runs the benchmark and prints its table.
///
/// # Errors
/// A ledger could not be opened or refused an operation.
pub async fn run(args: LedgerArgs) -> anyhow::Result<()> {
    let machine = proc::machine()?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&parent).with_context(|| parent.display().to_string())?;
    println!(
        "ledger appends: {} tasks × mint+burn for {} s; {} cores ({}), {} MiB",
        args.tasks, args.seconds, machine.cores, machine.cpu, machine.memory_mib
    );
    let location = Location::Sqlite(dir.path().to_path_buf());
    let sqlite = appends(&location, &args).await?;
    let fsyncs = bound::fsyncs(dir.path(), Duration::from_secs(2)).await?;
    let bare = bound::sqlite_insert(
        &dir.path().join("bare.db"),
        sqlite.phase.ops,
        sqlite.mean_batch(),
        sqlite.mean_body,
    )
    .await?;
    let mut report = vec![json!({
        "backend": "sqlite",
        "appends": append_json(&sqlite),
        "fsyncs_per_sec": fsyncs,
        "fsync_bound_entries_per_sec": fsyncs * sqlite.mean_batch(),
        "bare_insert_rows_per_sec": bare,
        "ratio_to_bare_insert": sqlite.phase.per_sec() / bare,
    })];
    print_backend("sqlite", &sqlite, Some(fsyncs), bare);
    if let Some(url) = &args.postgres {
        let pg = appends(&Location::Postgres(url.clone()), &args).await?;
        let bare = bound::postgres_insert(url, pg.phase.ops, pg.mean_batch(), pg.mean_body).await?;
        print_backend("postgres", &pg, None, bare);
        report.push(json!({
            "backend": "postgres",
            "appends": append_json(&pg),
            "bare_insert_rows_per_sec": bare,
            "ratio_to_bare_insert": pg.phase.per_sec() / bare,
        }));
    }
    let proofs = proof::run(args.proof_leaves)?;
    proofs.print();
    if args.json {
        println!(
            "{}",
            json!({ "machine": machine.json(), "backends": report, "proofs": proofs.json() })
        );
    }
    Ok(())
}

fn append_json(a: &Appends) -> serde_json::Value {
    json!({
        "entries": a.phase.json(),
        "pairs_per_sec": a.pairs as f64 / a.phase.elapsed.as_secs_f64(),
        "commits": a.commits,
        "mean_batch": a.mean_batch(),
        "ack_p50_ms": ms(percentile(&a.latencies, 0.50)),
        "ack_p99_ms": ms(percentile(&a.latencies, 0.99)),
    })
}

fn print_backend(backend: &str, a: &Appends, fsyncs: Option<f64>, bare: f64) {
    let secs = a.phase.elapsed.as_secs_f64();
    let per_sec = a.phase.per_sec();
    println!("\n{backend}");
    let mut rows = vec![
        (
            "durable entries/s (mint or burn)",
            format!("{per_sec:.0}"),
            target("≥ 10,000", per_sec >= TARGET_OPS),
        ),
        (
            "  mint+burn pairs/s",
            format!("{:.0}", a.pairs as f64 / secs),
            String::new(),
        ),
        (
            "  commits/s, mean batch",
            format!("{:.0}, {:.1}", a.commits as f64 / secs, a.mean_batch()),
            String::new(),
        ),
        (
            "  ack latency p50 / p99",
            format!(
                "{:.2} / {:.2} ms",
                ms(percentile(&a.latencies, 0.50)),
                ms(percentile(&a.latencies, 0.99))
            ),
            String::new(),
        ),
        (
            "  CPU user+sys | others",
            a.phase.cpu_summary(),
            String::new(),
        ),
    ];
    if let Some(fsyncs) = fsyncs {
        rows.push((
            "bound: fdatasync/s of one file",
            format!("{fsyncs:.0}"),
            String::new(),
        ));
        // One sync per commit at the ledger's mean batch: the most entries/s durable
        // commits of that size could give on this disk.
        let fsync_bound = fsyncs * a.mean_batch();
        rows.push((
            "  × mean batch = entries/s bound",
            format!("{fsync_bound:.0}"),
            String::new(),
        ));
        rows.push((
            "  ledger entries / fsync bound",
            format!("{:.3}×", per_sec / fsync_bound),
            String::new(),
        ));
    }
    rows.push((
        "bound: bare batched insert rows/s",
        format!("{bare:.0}"),
        String::new(),
    ));
    rows.push((
        "  ledger entries / bare rows",
        format!("{:.2}×", per_sec / bare),
        String::new(),
    ));
    print_rows(&rows);
}

/// Mints and burns for `args.seconds` on a fresh `req` ledger at `location`.
async fn appends(location: &Location, args: &LedgerArgs) -> anyhow::Result<Appends> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signer = NoteSigner::new("bench.invalid/ledger/req", SigningKey::from_bytes(&seed))?;
    let clock = Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    });
    let ledger = Ledger::open(LedgerName::Req, location, signer, clock.clone()).await?;
    let tokens = TokenLedger::new(ledger.clone())?;
    let start_size = ledger.head().await?.size;
    let run_id = hex::encode(&seed[..6]);
    let cpu_before = proc::cpu()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..args.tasks.max(1) {
        // Each task is one wallet (its own address); token ids are UUIDv7, as the wallet
        // login mints them, so they sort by time like the ledger's own appends.
        let owner = if args.spread_ids {
            "0xbench".to_owned()
        } else {
            format!("0x{run_id}{task:028x}")
        };
        let (tokens, clock, spread) = (tokens.clone(), clock.clone(), args.spread_ids);
        let prefix = format!("b{run_id}-{task}");
        tasks.spawn(async move {
            let mut sizes = HashSet::new();
            let mut latencies = Vec::new();
            let mut pairs = 0u64;
            while Instant::now() < deadline {
                let token = if spread {
                    format!("{prefix}-{pairs}")
                } else {
                    uuid::Uuid::now_v7().to_string()
                };
                let t = Instant::now();
                let minted = tokens.mint(clock(), &token, &owner, Map::new()).await?;
                latencies.push(t.elapsed());
                let t = Instant::now();
                let burned = tokens.burn(clock(), &token).await?;
                latencies.push(t.elapsed());
                sizes.insert(minted.size);
                sizes.insert(burned.size);
                pairs += 1;
            }
            anyhow::Ok((pairs, sizes, latencies))
        });
    }
    let (mut pairs, mut sizes, mut latencies) = (0, HashSet::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (p, s, l) = done.context("an appender panicked")??;
        pairs += p;
        sizes.extend(s);
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    let cpu = proc::cpu()?.since(cpu_before);
    latencies.sort_unstable();
    let sample = ledger.entries(start_size, 1000).await?;
    let mean_body = sample.iter().map(|e| e.body.len()).sum::<usize>() / sample.len().max(1);
    ledger.close().await;
    Ok(Appends {
        phase: Phase {
            ops: pairs * 2,
            elapsed,
            cpu,
        },
        pairs,
        commits: sizes.len() as u64,
        latencies,
        mean_body,
    })
}
