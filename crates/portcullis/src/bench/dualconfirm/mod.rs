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
//!
//! The derivation is timed in `derivation`, the server side of delivery runs in `delivery`
//! and the sockets in `subscribers` (the child process); this module holds the arguments and
//! prints the table.

mod delivery;
mod derivation;
mod subscribers;

pub use subscribers::{ClientsArgs, clients};

use serde_json::json;
use std::time::Duration;

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

/// Runs the benchmark and prints its table.
///
/// # Errors
/// The server or the child could not run, or a subscriber missed a rotation.
pub async fn run(args: DualConfirmArgs) -> anyhow::Result<()> {
    // 1. Derivation, three alternating rounds of each.
    let derivation::Derivation { derived, bare } = derivation::measure(args.pairs);
    let ratio = derived.as_secs_f64() / bare.as_secs_f64();
    let per_sec = |d: Duration| f64::from(args.pairs) * 3.0 / d.as_secs_f64();

    // 2. Delivery to WebSocket subscribers.
    let delivery = delivery::delivery(&args).await?;

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
