//! `portcullis bench`: what this machine can do, measured in one run per subcommand.
//!
//! - `login`: argon2id logins over HTTP against the hashing bound, password + pattern OTP
//!   logins against the password ones ([`pattern`]), token signing and verification, idle
//!   memory and start-up ([`login`]);
//! - `guard`: access-token verifications per second on one core with
//!   `portcullis_guard::Guard`, first sight and cached, against raw Ed25519 ([`guard`]);
//! - `forward-auth`: `GET /v1/forward-auth` over loopback with keep-alive, side by side with a
//!   bare axum handler that answers 200 ([`forward_auth`]);
//! - `passcode`: enrolling and verifying an image passcode on a 5 MiB image against one
//!   argon2id hash ([`passcode`]);
//! - `ledger`: durable mints and burns per second through a token ledger, on SQLite and
//!   PostgreSQL, against the fsync and bare-insert bound of the same disk, and inclusion-proof
//!   verification against one SHA-256 ([`ledger`]);
//! - `wallet`: hardware-wallet logins (password, SIWE, delegation, AuthNFT burned, ReqNFT
//!   minted) against password logins, and a DPoP-bound request's verification against a
//!   bearer one ([`wallet`]);
//! - `wallet-send`: custodial sends accepted per second (API key, token, password, limits,
//!   nonce manager, broadcast) against the node's own rate for pre-signed transactions
//!   ([`wallet_send`]);
//! - `dualconfirm`: word derivation against bare HMAC-SHA256, and a rotation delivered to
//!   10,000 WebSocket subscribers ([`dualconfirm`]).
//!
//! Every phase also reads `/proc` for the CPU the process used and the CPU other processes
//! took meanwhile ([`proc`]): the machine is shared, and a run is only valid when that last
//! figure is close to zero.

mod dualconfirm;
mod forward_auth;
mod guard;
mod ledger;
mod load;
mod login;
mod passcode;
mod pattern;
mod proc;
mod server;
mod token_pool;
mod wallet;
mod wallet_send;

use serde_json::json;
use std::time::Duration;

use proc::Cpu;

/// The benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Password hashing bound, end-to-end logins, token signing and verification.
    Login(login::LoginArgs),
    /// Guard verifications per second on one core: raw Ed25519, first sight, cached.
    Guard(guard::GuardArgs),
    /// Forward-auth requests per second and latency against a bare axum handler.
    ForwardAuth(forward_auth::ForwardAuthArgs),
    /// DualConfirm word derivation against bare HMAC, and a rotation delivered to many
    /// WebSocket subscribers.
    Dualconfirm(dualconfirm::DualConfirmArgs),
    /// Enrolling and verifying an image passcode on a 5 MiB image, against one argon2id hash.
    Passcode(passcode::PasscodeArgs),
    /// Durable ledger mints and burns per second against the storage's own bound, and
    /// inclusion-proof verification against one SHA-256.
    Ledger(ledger::LedgerArgs),
    /// Wallet logins against password logins, and a DPoP proof's cost per request against a
    /// bearer token.
    Wallet(wallet::WalletArgs),
    /// Custodial sends accepted per second through the nonce manager, against the node's
    /// own rate for pre-signed transactions.
    WalletSend(wallet_send::WalletSendArgs),
    /// The subscriber side of `bench dualconfirm`, run by it as a child process.
    #[command(hide = true)]
    DualconfirmClients(dualconfirm::ClientsArgs),
}

/// Runs one benchmark and prints its table.
///
/// # Errors
/// The benchmark could not run, or what it measured was not what it claims to measure (a
/// refused request, a token that did not verify).
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Login(args) => login::run(args).await,
        BenchCommand::Guard(args) => guard::run(args).await,
        BenchCommand::ForwardAuth(args) => forward_auth::run(args).await,
        BenchCommand::Dualconfirm(args) => dualconfirm::run(args).await,
        BenchCommand::Passcode(args) => passcode::run(args).await,
        BenchCommand::Ledger(args) => ledger::run(args).await,
        BenchCommand::Wallet(args) => wallet::run(args).await,
        BenchCommand::WalletSend(args) => wallet_send::run(args).await,
        BenchCommand::DualconfirmClients(args) => dualconfirm::clients(args).await,
    }
}

/// One throughput measurement: operations done, wall time, and what the process spent.
#[derive(Clone, Copy, Debug, Default)]
struct Phase {
    ops: u64,
    elapsed: Duration,
    cpu: Cpu,
}

impl Phase {
    /// Adds another round of the same measurement.
    fn plus(self, other: Phase) -> Phase {
        Phase {
            ops: self.ops + other.ops,
            elapsed: self.elapsed + other.elapsed,
            cpu: self.cpu.plus(other.cpu),
        }
    }

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

    /// Process CPU microseconds per operation.
    fn cpu_us_per_op(&self) -> f64 {
        self.cpu_ms_per_op() * 1000.0
    }

    fn faults_per_op(&self) -> u64 {
        self.cpu.faults / self.ops.max(1)
    }

    /// `user + sys | other processes`, in cores.
    fn cpu_summary(&self) -> String {
        let (user, sys) = self.cores();
        format!("{user:.2} + {sys:.2} | {:.2} cores", self.other_cores())
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

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A target and whether it was met, for the last column of a table.
fn target(goal: &str, met: bool) -> String {
    format!("{goal:<10} {}", if met { "met" } else { "MISSED" })
}

/// Prints `(measurement, result, target)` rows as aligned columns.
fn print_rows(rows: &[(&str, String, String)]) {
    for (name, value, target) in rows {
        println!("{name:<36} {value:>28}  {target}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn phases_add_up() {
        let one = Phase {
            ops: 10,
            elapsed: Duration::from_secs(1),
            cpu: Cpu {
                user: 0.5,
                sys: 0.25,
                faults: 4,
                machine_busy: 1.0,
            },
        };
        let two = one.plus(one);
        assert_eq!(two.ops, 20);
        assert!((two.per_sec() - 10.0).abs() < 1e-9);
        assert!((two.other_cores() - 0.25).abs() < 1e-9);
        assert!((two.cpu_us_per_op() - 75_000.0).abs() < 1e-6);
    }
}
