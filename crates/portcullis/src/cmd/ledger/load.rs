//! `portcullis ledger load` (hidden): the appender the crash test kills.
//!
//! Opens the node's three ledgers as the server does, then runs `--tasks` tasks that each
//! mint a token of their own and burn it, over and over, on one token ledger. Every
//! acknowledged operation is printed as `<op> <index> <token>` and flushed at once, so that a
//! line on stdout means the ledger answered it, and so promised it was durable.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use portcullis_ledger::{LedgerName, TokenLedger};
use portcullis_server::clock::{Clock, SystemClock};
use portcullis_server::config::Config;
use portcullis_server::ledgers;
use secrecy::ExposeSecret as _;
use serde_json::Map;

/// Options of `portcullis ledger load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The token ledger to load: auth or req.
    #[arg(long, default_value = "req")]
    ledger: LedgerName,
    /// Concurrent appenders.
    #[arg(long, default_value_t = 64)]
    tasks: u32,
    /// Mint+burn pairs per task, then exit; without it, run until killed.
    #[arg(long)]
    count: Option<u64>,
}

pub async fn run(config: Config, args: LoadArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = portcullis_store::open(config.database_url().expose_secret(), true).await?;
    let all = ledgers::open(&config, &store, clock.clone()).await?;
    let tokens = match args.ledger {
        LedgerName::Auth => all.auth_ledger.clone(),
        LedgerName::Req => all.req_ledger.clone(),
        LedgerName::Audit => anyhow::bail!("the audit ledger holds no tokens"),
    };
    // A run's own prefix keeps token ids unique across runs on the same ledger.
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let run_id = hex::encode(nonce);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..args.tasks.max(1) {
        let (tokens, clock, prefix) = (tokens.clone(), clock.clone(), format!("load-{run_id}"));
        tasks.spawn(async move { appender(&tokens, &*clock, &prefix, task, args.count).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("an appender panicked")??;
    }
    Ok(())
}

async fn appender(
    tokens: &TokenLedger,
    clock: &dyn Clock,
    prefix: &str,
    task: u32,
    count: Option<u64>,
) -> anyhow::Result<()> {
    let owner = format!("0xload{task:04}");
    let mut i = 0u64;
    while count.is_none_or(|n| i < n) {
        let token = format!("{prefix}-{task}-{i}");
        let minted = tokens.mint(clock.now(), &token, &owner, Map::new()).await?;
        acknowledge("mint", minted.index, &token)?;
        let burned = tokens.burn(clock.now(), &token).await?;
        acknowledge("burn", burned.index, &token)?;
        i += 1;
    }
    Ok(())
}

/// Prints one acknowledged operation and flushes it before the next is asked for.
fn acknowledge(op: &str, index: u64, token: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{op} {index} {token}")?;
    out.flush()?;
    Ok(())
}
