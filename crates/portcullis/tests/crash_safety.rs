//! Crash safety: `portcullis serve`, the real binary, killed with SIGKILL in the middle of a
//! mixed write load and started again on the same data. Every write the server
//! acknowledged must be there, no refresh token may work twice, and `portcullis audit
//! verify` must pass on what the crash left.
//!
//! The load, from several tasks at once: registrations (verified with the link of the
//! development mail the server writes under its data directory), password logins,
//! refresh-token rotations, TOTP factors enrolled, confirmed and removed, and DualConfirm
//! checks between a paired advisor and client whose consoles are connected. Each task
//! records what the server acknowledged (a 2xx received in full) and the one request it had
//! in flight when the server died, whose outcome nobody can know. Three kill/restart cycles
//! run per backend: SQLite in the data directory, and a fresh database on the PostgreSQL
//! server of `PORTCULLIS_TEST_PG_URL` (`scripts/test` starts it). The moment of each kill is
//! drawn from a seed that the test prints; `PORTCULLIS_TEST_CRASH_SEED` replays it.
//!
//! The server keeps its shipped durability settings; only the rate limits, the argon2 cost
//! and the DualConfirm check allowance are relaxed, so that a second carries a real load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;

use crash::ledger::Ledger;
use crash::server::{Backend, Env};
use crash::{Rng, load, verify};
use std::sync::Arc;
use std::time::Duration;

/// Kill/restart cycles per backend.
const CYCLES: usize = 3;

async fn crash_and_recover(backend: Backend) {
    let seed = std::env::var("PORTCULLIS_TEST_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(1)
        });
    eprintln!("crash_safety ({backend:?}): PORTCULLIS_TEST_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let env = Env::new(backend).await;
    let cast = env.cast();
    let mut server = env.start();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");
    let ledger = Arc::new(Ledger::default());
    let fixture = load::Fixture::new(&http, &server.url, &cast, &ledger).await;

    for cycle in 0..CYCLES {
        let before = ledger.lock().totals.clone();
        let running = load::start(&http, &server.url, &env, &fixture, &ledger, rng.next()).await;
        ledger.wait_until_busy(&before).await;
        let kill_after = Duration::from_millis(rng.below(800));
        tokio::time::sleep(kill_after).await;
        server.kill();
        running.finish().await;
        eprintln!(
            "crash_safety ({backend:?}): cycle {cycle} killed {kill_after:?} into a running load: {}",
            ledger.summary()
        );
        // What the crash left must be a whole chain, before anything else writes to it.
        env.audit_verify();
        server = env.start();
        verify::all(&http, &server.url, &env, &fixture, &ledger).await;
    }
    server.kill();
    env.audit_verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_across_kill_9() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_keeps_every_acknowledged_write_across_kill_9() {
    crash_and_recover(Backend::Postgres).await;
}
