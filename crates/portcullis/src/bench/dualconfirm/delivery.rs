//! Part 2 of the bench, the server side of delivery: a Portcullis on SQLite with a short
//! window, its advisors, clients, sessions and pairs made straight through the services,
//! and the subscriber process (`bench dualconfirm-clients`, in `subscribers`) fed their
//! tokens and read for the latencies it measured. The server's resident memory before and
//! after the subscribers connected gives the memory per connected party.

use anyhow::{Context as _, anyhow, bail};
use portcullis_core::dualconfirm::words::Language;
use portcullis_core::ids::AccountId;
use portcullis_core::login::Assurance;
use portcullis_server::extract::ClientInfo;
use portcullis_server::services::dualconfirm::pairs;
use portcullis_server::services::{accounts, passwords, sessions};
use portcullis_store::model::AccountStatus;
use std::process::Stdio;
use std::time::Duration;

use super::DualConfirmArgs;
use crate::bench::proc::rss_kib;

/// What the delivery part measured.
pub(super) struct Delivery {
    /// Parties the server counted as connected once every socket had its first words.
    pub(super) connected: u64,
    /// One per socket and measured rotation: words received after the window boundary.
    pub(super) latencies: Vec<Duration>,
    /// Growth of the server's resident memory per subscriber.
    pub(super) kib_per_party: f64,
}

/// Runs the server and the subscriber process; the latencies come back sorted.
pub(super) async fn delivery(args: &DualConfirmArgs) -> anyhow::Result<Delivery> {
    let dir = tempfile::tempdir()?;
    let mut config = crate::bench::server::bench_config(dir.path());
    config.dualconfirm.window = Duration::from_secs(u64::try_from(args.window_secs)?);
    config.dualconfirm.grace = Duration::from_secs(1);
    config.dualconfirm.inactivity = Duration::from_secs(3600);
    // Cheap hashing: the accounts are made here, not logged in with passwords.
    config.password.argon2.memory_kib = 1024;
    config.password.argon2.iterations = 1;
    let http = reqwest::Client::new();
    let (server, _) = crate::bench::server::start_ready(config, &http).await?;
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
