//! `portcullis bench wallet-send`: custodial sends accepted per second through Portcullis
//! (API key, token, password, limits, the nonce manager, fees, signing, broadcast) against
//! the node's own rate for pre-signed transactions, in the same run on the same node.
//!
//! The node is a fresh anvil started for the run (`--anvil`, the binary `scripts/test`
//! installs under `tests/chain/node_modules`). The baseline broadcasts `--sends` transfers
//! signed beforehand from one of anvil's accounts, `--clients` at a time: what the node
//! accepts with no work on our side. Then the same number of sends go through
//! `POST /v1/wallets/{id}/transactions`, all from one custodial wallet, `--clients` at a
//! time: each opens the wallet's key with the password (argon2id at the configured cost,
//! on the hashing threads, outside the lock) and then holds the account's send lock while
//! it reads the nonce, the fees, the gas and the balance from the node and broadcasts. The
//! run then waits until the follower has seen every send mined. Beside them, argon2id key
//! derivations per second at the same cost on every core: the bound the password puts on
//! custodial sends.

use anyhow::{Context as _, anyhow, bail};
use portcullis_chain::{
    Address, Chain, CustodialKey, TransferOrder, TxParams, U256, sign_transfer,
};
use portcullis_core::password::{Argon2Params, Password, PasswordHasher};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

mod front;

use front::Front;

use super::proc::{cpu, machine};
use super::server::{PASSWORD, bench_config, start_ready};
use super::{Phase, ms, percentile, print_rows};

const CHAIN_ID: u64 = 31337;
const EMAIL: &str = "bench-custody@example.com";

/// Options of `portcullis bench wallet-send`.
#[derive(clap::Args, Debug)]
pub struct WalletSendArgs {
    /// The anvil binary (npm `@foundry-rs/anvil`; `scripts/test` installs it under
    /// `tests/chain/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`).
    #[arg(long, env = "PORTCULLIS_TEST_ANVIL")]
    pub anvil: std::path::PathBuf,
    /// Sends per measurement.
    #[arg(long, default_value_t = 200)]
    pub sends: usize,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the measurements and prints the table.
///
/// # Errors
/// The node or the server would not start, or a send was refused.
pub(super) async fn run(args: WalletSendArgs) -> anyhow::Result<()> {
    if args.sends == 0 || args.clients == 0 {
        bail!("--sends and --clients must be at least 1");
    }
    let machine = machine()?;
    let node = alloy::node_bindings::Anvil::at(&args.anvil)
        .try_spawn()
        .context("starting anvil")?;
    let chain = Chain::connect(node.endpoint_url(), CHAIN_ID);
    chain.verify().await?;
    let key_of = |i: usize| -> anyhow::Result<CustodialKey> {
        let bytes: [u8; 32] = node.keys()[i].to_bytes().into();
        Ok(CustodialKey::from_secret(&bytes)?)
    };

    // The node's own rate: pre-signed transfers from anvil's account #1.
    let baseline = presigned(&chain, &key_of(1)?, args.sends, args.clients).await?;

    // Through Portcullis.
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let mut config = bench_config(dir.path());
    config.chain.rpc_url = Some(node.endpoint().into());
    config.chain.chain_id = Some(CHAIN_ID);
    config.custody.per_transaction_wei = "1000000000000000000000".into();
    config.custody.per_wallet_daily_wei = "1000000000000000000000".into();
    config.custody.per_account_daily_wei = "1000000000000000000000".into();
    config.custody.send_max_age = Duration::from_secs(3600);
    config.custody.follow_interval = Duration::from_millis(200);
    let http = reqwest::Client::new();
    let (server, _) = start_ready(config, &http).await?;
    let base = server.url();
    let front = Front::new(&server, &http, &base).await?;
    let funding = TransferOrder {
        to: front.address.parse()?,
        value: U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
        data: Default::default(),
    };
    let funder = key_of(0)?;
    let params = TxParams {
        chain_id: CHAIN_ID,
        nonce: chain.pending_nonce(funder.address()).await?,
        gas_limit: 21_000,
        fees: chain.fees().await?,
    };
    chain
        .send_raw(&sign_transfer(&funder, &funding, params)?.raw)
        .await?;
    wait_for_nonce(&chain, funder.address(), params.nonce + 1).await?;

    let through = custodial(&http, &base, &front, args.sends, args.clients).await?;
    let mined_after = wait_mined(&http, &base, &front, args.sends).await?;
    server.stop().await?;
    drop(node);

    let hashing = password_bound(machine.cores, Duration::from_secs(3)).await?;
    let ratio = through.phase.per_sec() / baseline.per_sec();
    let of_bound = through.phase.per_sec() / hashing;
    let none = String::new;
    let rows = vec![
        ("measurement", "result".to_owned(), none()),
        (
            "pre-signed broadcasts (node's rate)",
            format!("{:.1}/s", baseline.per_sec()),
            none(),
        ),
        (
            "custodial sends accepted",
            format!("{:.1}/s", through.phase.per_sec()),
            none(),
        ),
        (
            "  latency p50 / p99",
            format!("{:.0} / {:.0} ms", ms(through.p50), ms(through.p99)),
            none(),
        ),
        (
            "  CPU user + sys | other processes",
            through.phase.cpu_summary(),
            none(),
        ),
        ("  custodial / pre-signed", format!("{ratio:.3}x"), none()),
        (
            "password key derivations, all cores",
            format!("{hashing:.1}/s"),
            none(),
        ),
        (
            "  custodial sends / derivations",
            format!("{of_bound:.2}x"),
            none(),
        ),
        (
            "all mined, after the last accept",
            format!("{:.0} ms", ms(mined_after)),
            none(),
        ),
    ];
    println!("Portcullis bench wallet-send");
    println!(
        "machine:  {} cores, {}, {} MiB RAM",
        machine.cores, machine.cpu, machine.memory_mib
    );
    println!(
        "load:     {} sends, {} in flight, one wallet; anvil auto-mining\n",
        args.sends, args.clients
    );
    print_rows(&rows);
    if args.json {
        let json = json!({
            "sends": args.sends,
            "clients": args.clients,
            "presigned_per_sec": baseline.per_sec(),
            "custodial_per_sec": through.phase.per_sec(),
            "custodial_p50_ms": ms(through.p50),
            "custodial_p99_ms": ms(through.p99),
            "custodial_over_presigned": ratio,
            "mined_after_ms": ms(mined_after),
            "password_derivations_per_sec": hashing,
            "custodial_over_derivations": of_bound,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(())
}

/// The bound a send's password puts on the rate: argon2id key derivations per second at the
/// default cost, one thread per core, for `window`.
async fn password_bound(cores: usize, window: Duration) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..cores.max(1))
        .map(|_| {
            tokio::task::spawn_blocking(move || {
                let password = Password::new(PASSWORD.to_owned());
                let params = Argon2Params::default();
                let mut n = 0u64;
                while t0.elapsed() < window {
                    PasswordHasher::derive_key(&password, &[7u8; 16], params)?;
                    n += 1;
                }
                anyhow::Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / t0.elapsed().as_secs_f64())
}

/// Broadcasts `n` transfers signed beforehand, `clients` at a time.
async fn presigned(
    chain: &Chain,
    key: &CustodialKey,
    n: usize,
    clients: usize,
) -> anyhow::Result<Phase> {
    let fees = chain.fees().await?;
    let start = chain.pending_nonce(key.address()).await?;
    let order = TransferOrder {
        to: Address::repeat_byte(0x55),
        value: U256::from(1u64),
        data: Default::default(),
    };
    let mut raws = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let params = TxParams {
            chain_id: CHAIN_ID,
            nonce: start + i,
            gas_limit: 21_000,
            fees,
        };
        raws.push(sign_transfer(key, &order, params)?.raw);
    }
    let gate = Arc::new(Semaphore::new(clients));
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let tasks: Vec<_> = raws
        .into_iter()
        .map(|raw| {
            let chain = chain.clone();
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let _slot = gate.acquire_owned().await?;
                chain.send_raw(&raw).await?;
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(Phase {
        ops: n as u64,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    })
}

struct Through {
    phase: Phase,
    p50: Duration,
    p99: Duration,
}

/// `n` custodial sends, `clients` at a time; each must be accepted (202).
async fn custodial(
    http: &reqwest::Client,
    base: &str,
    front: &Front,
    n: usize,
    clients: usize,
) -> anyhow::Result<Through> {
    let gate = Arc::new(Semaphore::new(clients));
    let url = format!("{base}/v1/wallets/{}/transactions", front.wallet);
    let body = json!({"to": Address::repeat_byte(0x66).to_string(), "value": "1000", "password": PASSWORD});
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (gate, http, url, body) =
                (Arc::clone(&gate), http.clone(), url.clone(), body.clone());
            let (key, token) = (front.key.clone(), front.token.clone());
            tokio::spawn(async move {
                let _slot = gate.acquire_owned().await?;
                let started = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("x-api-key", &key)
                    .json(&body)
                    .send()
                    .await?;
                if r.status() != reqwest::StatusCode::ACCEPTED {
                    bail!("a send answered {}: {}", r.status(), r.text().await?);
                }
                anyhow::Ok(started.elapsed())
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for t in tasks {
        latencies.push(t.await??);
    }
    let phase = Phase {
        ops: n as u64,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    };
    latencies.sort_unstable();
    Ok(Through {
        phase,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

/// Waits until the wallet's `n` sends are all mined; how long that took.
async fn wait_mined(
    http: &reqwest::Client,
    base: &str,
    front: &Front,
    n: usize,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let url = format!("{base}/v1/wallets/{}/transactions?limit=200", front.wallet);
    loop {
        let listed: Value = http
            .get(&url)
            .bearer_auth(&front.token)
            .header("x-api-key", &front.key)
            .send()
            .await?
            .json()
            .await?;
        let all = listed
            .as_array()
            .ok_or_else(|| anyhow!("not a list: {listed}"))?;
        let open = all.iter().filter(|s| s["status"] != "mined").count();
        if all.len() >= n.min(200) && open == 0 {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > Duration::from_secs(120) {
            bail!("{open} sends still not mined after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_nonce(chain: &Chain, address: Address, nonce: u64) -> anyhow::Result<()> {
    for _ in 0..200 {
        if chain.pending_nonce(address).await? >= nonce {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("the funding transfer was not taken")
}
