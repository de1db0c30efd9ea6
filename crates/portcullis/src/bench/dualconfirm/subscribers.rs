//! The subscriber process of the delivery part (`bench dualconfirm-clients`, started by
//! `bench dualconfirm`): the sockets live in their own process so that the two ends do not
//! share one process's file descriptors or CPU accounting. It times each socket's words
//! against the window boundary they belong to.

use anyhow::{anyhow, bail};
use futures_util::StreamExt as _;
use serde_json::json;
use std::io::{BufRead as _, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

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
