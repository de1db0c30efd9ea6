//! `portcullis bench dualconfirm`: DualConfirm word derivation against bare HMAC-SHA256, and
//! a rotation delivered to many WebSocket subscribers.
//!
//! 1. Derivation: the words of one window for `--pairs` pairs (each a distinct secret: two
//!    HMAC-SHA256 and two list look-ups), against the same number of bare HMAC-SHA256
//!    computations (two per pair, key set-up included) — the irreducible cost. Target: the
//!    derivation within 1.5× of the bare cost.
//! 2. Delivery: a Portcullis on SQLite with a short window, `--subscribers` ÷ 2 pairs, each
//!    advisor and client holding one socket opened by a child process
//!    (`portcullis bench dualconfirm-clients`, so the two ends do not share one process's file
//!    descriptors or CPU accounting). For each of the next `--rotations` windows, the child
//!    records when every socket received the new words; latency is measured from the window
//!    boundary. Target: p99 ≤ 250 ms. The server's resident memory before and after the
//!    subscribers connected gives the memory per connected party.

use anyhow::{Context as _, anyhow, bail};
use futures_util::StreamExt as _;
use hmac::{Hmac, Mac};
use portcullis_core::dualconfirm::PairSecret;
use portcullis_core::dualconfirm::words::{Language, WordList};
use portcullis_core::ids::AccountId;
use portcullis_core::login::Assurance;
use portcullis_server::extract::ClientInfo;
use portcullis_server::services::dualconfirm::pairs;
use portcullis_server::services::{accounts, passwords, sessions};
use portcullis_store::model::AccountStatus;
use serde_json::json;
use sha2::Sha256;
use std::hint::black_box;
use std::io::{BufRead as _, Write as _};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::proc::rss_kib;
use super::{ms, percentile, print_rows, target};

/// Arguments of `bench dualconfirm`.
#[derive(clap::Args, Debug)]
pub struct DualConfirmArgs {
    /// Pairs whose words are derived.
    #[arg(long, default_value_t = 1_000_000)]
    pairs: u32,
    /// WebSocket subscribers (half advisors, half clients).
    #[arg(long, default_value_t = 10_000)]
    subscribers: u32,
    /// Rotations measured.
    #[arg(long, default_value_t = 3)]
    rotations: u32,
    /// Window length of the server under test, in seconds.
    #[arg(long, default_value_t = 5)]
    window_secs: i64,
    /// Rotations let pass before measuring, once every subscriber is connected (the burst
    /// of 10,000 connections and their session-start audit records is not steady state).
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Print the results as JSON too.
    #[arg(long)]
    json: bool,
}

/// Arguments of the hidden child `bench dualconfirm-clients`.
#[derive(clap::Args, Debug)]
pub struct ClientsArgs {
    /// `ws://…/v1/dualconfirm/live`.
    #[arg(long)]
    url: String,
    /// Rotations to wait for.
    #[arg(long)]
    rotations: u32,
    /// Window length, to find the boundaries.
    #[arg(long)]
    window_secs: i64,
    /// Rotations to let pass before measuring.
    #[arg(long, default_value_t = 0)]
    warmup: u32,
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// Derives the words of `pairs` pairs; returns the time taken.
fn derive(secrets: &[PairSecret], window: u64) -> Duration {
    let list = WordList::get(Language::En);
    let t0 = Instant::now();
    for s in secrets {
        let w = s.words(window, list.len());
        black_box((list.word(w.client), list.word(w.advisor)));
    }
    t0.elapsed()
}

/// Computes two bare HMAC-SHA256 per secret over the same input length; returns the time.
fn bare_hmac(secrets: &[PairSecret], window: u64) -> Duration {
    let t0 = Instant::now();
    for s in secrets {
        for label in [&b"client\0"[..], &b"advisor\0"[..]] {
            let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(s.expose()) else {
                continue;
            };
            mac.update(label);
            mac.update(&window.to_be_bytes());
            black_box(mac.finalize().into_bytes());
        }
    }
    t0.elapsed()
}

/// Runs the benchmark and prints its table.
///
/// # Errors
/// The server or the child could not run, or a subscriber missed a rotation.
pub async fn run(args: DualConfirmArgs) -> anyhow::Result<()> {
    // 1. Derivation, three alternating rounds of each.
    let secrets: Vec<PairSecret> = (0..args.pairs)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b[31] = 0x5a;
            PairSecret::from_bytes(b)
        })
        .collect();
    let window = 29_000_000;
    let (mut derived, mut bare) = (Duration::ZERO, Duration::ZERO);
    for round in 0..3 {
        derived += derive(&secrets, window + round);
        bare += bare_hmac(&secrets, window + round);
    }
    let ratio = derived.as_secs_f64() / bare.as_secs_f64();
    let per_sec = |d: Duration| f64::from(args.pairs) * 3.0 / d.as_secs_f64();

    // 2. Delivery to WebSocket subscribers.
    let delivery = delivery(&args).await?;

    println!(
        "portcullis bench dualconfirm: {} pairs derived, {} subscribers",
        args.pairs, args.subscribers
    );
    print_rows(&[
        (
            "bare HMAC-SHA256 ×2 (pairs/s)",
            format!("{:.0}", per_sec(bare)),
            String::new(),
        ),
        (
            "derived word pairs (pairs/s)",
            format!("{:.0}", per_sec(derived)),
            String::new(),
        ),
        (
            "derivation ÷ bare HMAC cost",
            format!("{ratio:.2}"),
            target("≤ 1.5", ratio <= 1.5),
        ),
        (
            "subscribers connected",
            format!("{}", delivery.connected),
            String::new(),
        ),
        (
            "rotation deliveries measured",
            format!("{}", delivery.latencies.len()),
            String::new(),
        ),
        (
            "delivery after boundary p50 (ms)",
            format!("{:.1}", ms(percentile(&delivery.latencies, 0.50))),
            String::new(),
        ),
        (
            "delivery after boundary p99 (ms)",
            format!("{:.1}", ms(percentile(&delivery.latencies, 0.99))),
            target(
                "≤ 250",
                percentile(&delivery.latencies, 0.99) <= Duration::from_millis(250),
            ),
        ),
        (
            "delivery after boundary max (ms)",
            format!("{:.1}", ms(percentile(&delivery.latencies, 1.0))),
            String::new(),
        ),
        (
            "server memory per party (KiB)",
            format!("{:.1}", delivery.kib_per_party),
            String::new(),
        ),
    ]);
    if args.json {
        println!(
            "{}",
            json!({
                "pairs": args.pairs,
                "bare_hmac_pairs_per_sec": per_sec(bare),
                "derived_pairs_per_sec": per_sec(derived),
                "derivation_over_bare": ratio,
                "subscribers": delivery.connected,
                "deliveries": delivery.latencies.len(),
                "p50_ms": ms(percentile(&delivery.latencies, 0.50)),
                "p99_ms": ms(percentile(&delivery.latencies, 0.99)),
                "max_ms": ms(percentile(&delivery.latencies, 1.0)),
                "kib_per_party": delivery.kib_per_party,
            })
        );
    }
    Ok(())
}

struct Delivery {
    connected: u64,
    latencies: Vec<Duration>,
    kib_per_party: f64,
}

async fn delivery(args: &DualConfirmArgs) -> anyhow::Result<Delivery> {
    let dir = tempfile::tempdir()?;
    let mut config = super::server::bench_config(dir.path());
    config.dualconfirm.window = Duration::from_secs(u64::try_from(args.window_secs)?);
    config.dualconfirm.grace = Duration::from_secs(1);
    config.dualconfirm.inactivity = Duration::from_secs(3600);
    // Cheap hashing: the accounts are made here, not logged in with passwords.
    config.password.argon2.memory_kib = 1024;
    config.password.argon2.iterations = 1;
    let http = reqwest::Client::new();
    let (server, _) = super::server::start_ready(config, &http).await?;
    let state = server.state.clone();

    // Accounts, sessions and pairs, straight through the services.
    let hash = passwords::hash(
        &state,
        portcullis_core::password::Password::new("quiet harbour lanterns drift past".into()),
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let info = ClientInfo::default();
    let mut tokens = Vec::with_capacity(args.subscribers as usize);
    for i in 0..args.subscribers / 2 {
        let mut ids = Vec::new();
        for (role, tag) in [("advisor", "a"), ("client", "c")] {
            let email = portcullis_core::contact::Email::parse(&format!("{tag}{i}@bench.example"))?;
            let id = AccountId::new(state.clock().now_millis(), state.random::<10>());
            let (record, wrapped) = accounts::seal_account(
                &state,
                id,
                &email,
                None,
                None,
                &hash,
                AccountStatus::Active,
                vec![role.to_owned()],
            )
            .map_err(|e| anyhow!("{e}"))?;
            state.store().accounts.create(&record, &wrapped).await?;
            let issued =
                sessions::issue(&state, &record, Assurance::Aal1, vec!["pwd".into()], &info)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
            tokens.push(issued.access_token);
            ids.push(id);
        }
        pairs::create(&state, ids[0], ids[1], Language::En, "bench".into(), None)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let rss_before = rss_kib("VmRSS")?;

    // The subscribers, in a child process.
    let exe = std::env::current_exe()?;
    let url = format!("{}/v1/dualconfirm/live", server.url()).replacen("http", "ws", 1);
    let mut child = tokio::process::Command::new(exe)
        .args(["bench", "dualconfirm-clients", "--url", &url])
        .args(["--rotations", &args.rotations.to_string()])
        .args(["--window-secs", &args.window_secs.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting the subscriber process")?;
    {
        let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let mut text = tokens.join("\n");
        text.push('\n');
        use tokio::io::AsyncWriteExt as _;
        stdin.write_all(text.as_bytes()).await?;
    }
    // The child says "connected" once every socket has its first words.
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = tokio::io::BufReader::new(stdout);
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt as _;
    lines.read_line(&mut line).await?;
    if line.trim() != "connected" {
        bail!("the subscriber process said {line:?}");
    }
    let rss_after = rss_kib("VmRSS")?;
    let connected = state.dualconfirm().connected_parties() as u64;
    line.clear();
    lines.read_line(&mut line).await?;
    let report: serde_json::Value = serde_json::from_str(line.trim())
        .with_context(|| format!("the subscriber process reported {line:?}"))?;
    let status = child.wait().await?;
    if !status.success() {
        bail!("the subscriber process failed: {status}");
    }
    let mut latencies: Vec<Duration> = report["latencies_us"]
        .as_array()
        .ok_or_else(|| anyhow!("no latencies in {report}"))?
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .map(Duration::from_micros)
        .collect();
    let expected = u64::from(args.subscribers / 2 * 2) * u64::from(args.rotations);
    if latencies.len() as u64 != expected {
        bail!(
            "{} deliveries measured, {expected} expected",
            latencies.len()
        );
    }
    latencies.sort();
    server.stop().await?;
    Ok(Delivery {
        connected,
        latencies,
        kib_per_party: (rss_after.saturating_sub(rss_before)) as f64
            / f64::from(args.subscribers.max(1)),
    })
}

/// The child: opens one socket per token from stdin, prints `connected` when every socket
/// has its first words, then one JSON line with the latency of each rotation's words after
/// its window boundary, for `--rotations` rotations. Every socket stays open until all have
/// measured (closing is the server's work too, and would land on the last boundary).
///
/// # Errors
/// A socket failed or missed a rotation.
pub async fn clients(args: ClientsArgs) -> anyhow::Result<()> {
    let tokens: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.is_empty())
        .collect();
    let window_ms = u64::try_from(args.window_secs)? * 1000;
    let (first_tx, mut first_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<anyhow::Result<Vec<u64>>>();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    let count = tokens.len();
    for token in tokens {
        let (url, first_tx, done_tx, gate) = (
            args.url.clone(),
            first_tx.clone(),
            done_tx.clone(),
            gate.clone(),
        );
        let rotations = args.rotations;
        let warmup = u64::from(args.warmup);
        tokio::spawn(async move {
            let result = async {
                use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
                let mut req = url.into_client_request()?;
                req.headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse()?);
                let mut socket = {
                    let _permit = gate.acquire().await?;
                    tokio_tungstenite::connect_async(req).await?.0
                };
                let mut first_window = None;
                let mut latencies = Vec::new();
                while let Some(msg) = socket.next().await {
                    let received = unix_us();
                    let text = match msg? {
                        tokio_tungstenite::tungstenite::Message::Text(t) => t,
                        _ => continue,
                    };
                    let v: serde_json::Value = serde_json::from_str(text.as_str())?;
                    if v["type"] != "words" {
                        continue;
                    }
                    let w = v["window"].as_u64().ok_or_else(|| anyhow!("no window"))?;
                    match first_window {
                        None => {
                            first_window = Some(w);
                            let _ = first_tx.send(w);
                        }
                        Some(first) if w <= first + warmup => {}
                        Some(_) => {
                            let boundary_us = w * window_ms * 1000;
                            latencies.push(received.saturating_sub(boundary_us));
                            if latencies.len() as u32 == rotations {
                                break;
                            }
                        }
                    }
                }
                if (latencies.len() as u32) < rotations {
                    bail!("a socket closed after {} rotations", latencies.len());
                }
                Ok((latencies, socket))
            }
            .await;
            match result {
                Ok((latencies, socket)) => {
                    let _ = done_tx.send(Ok(latencies));
                    // Stay connected until every subscriber has measured: closing a socket
                    // makes the server tell the other party and end the session, and a
                    // wave of that work at the last boundary would be measured as delivery
                    // latency of the sockets still waiting. The process exit closes them.
                    let _keep = socket;
                    std::future::pending::<()>().await;
                }
                Err(e) => {
                    let _ = done_tx.send(Err(e));
                }
            }
        });
    }
    drop(first_tx);
    drop(done_tx);
    for _ in 0..count {
        first_rx
            .recv()
            .await
            .ok_or_else(|| anyhow!("a subscriber never got its words"))?;
    }
    println!("connected");
    std::io::stdout().flush()?;
    let mut all = Vec::new();
    for _ in 0..count {
        let latencies = done_rx
            .recv()
            .await
            .ok_or_else(|| anyhow!("a subscriber vanished"))??;
        all.extend(latencies);
    }
    println!("{}", json!({ "latencies_us": all }));
    Ok(())
}
