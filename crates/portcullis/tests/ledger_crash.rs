//! Crash safety of a ledger: the real `portcullis` binary appending under load (the hidden
//! `ledger load`: 64 tasks minting and burning tokens of their own, each acknowledged
//! operation printed as soon as the ledger answered it) is killed with SIGKILL two seconds
//! in. What the crash left must hold every acknowledged entry at its index with its token in
//! the state the acknowledgement promised, verify against its signed head, and take new
//! appends that verify too.
//!
//! Both backends: SQLite in the data directory, and a fresh database on the PostgreSQL server
//! of `PORTCULLIS_TEST_PG_URL` (`scripts/test` starts it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_ledger::verify::verify;
use portcullis_ledger::{Ledger, LedgerName, Location, TokenLedger, keys};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// One data directory, and the database when it is PostgreSQL.
struct Env {
    dir: tempfile::TempDir,
    database: Option<String>,
}

/// One acknowledged operation, as `ledger load` printed it.
#[derive(Debug)]
struct Ack {
    op: String,
    index: u64,
    token: String,
}

impl Env {
    async fn new(postgres: bool) -> Self {
        let database = if postgres {
            let admin_url = std::env::var("PORTCULLIS_TEST_PG_URL")
                .ok()
                .filter(|v| !v.is_empty())
                .expect("PORTCULLIS_TEST_PG_URL is not set: run the tests through scripts/test");
            let name = format!("lc_{}", uuid::Uuid::now_v7().simple());
            let mut admin = PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            Some(format!("{base}/{name}"))
        } else {
            None
        };
        Self {
            dir: tempfile::tempdir().unwrap(),
            database,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .env("PORTCULLIS_PUBLIC_URL", "https://id.crash.test")
            .env("RUST_LOG", "error");
        if let Some(url) = &self.database {
            cmd.env("PORTCULLIS_DATABASE_URL", url);
        }
        cmd
    }

    fn location(&self) -> Location {
        match &self.database {
            Some(url) => Location::Postgres(url.clone()),
            None => Location::Sqlite(self.dir.path().to_path_buf()),
        }
    }

    /// `portcullis ledger verify`, which must pass; its output.
    fn cli_verify(&self) -> String {
        let out = self.command(&["ledger", "verify"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "ledger verify failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// Runs `ledger load` until two seconds after its first acknowledgement, kills it with
/// SIGKILL, and returns every line it had printed in full.
fn load_then_kill(env: &Env) -> Vec<Ack> {
    let mut child = env
        .command(&["ledger", "load", "--ledger", "req", "--tasks", "64"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn portcullis ledger load");
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            // A line cut by the kill has no newline: it was never acknowledged in full.
            while stdout.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
                lines.lock().unwrap().push(std::mem::take(&mut line));
            }
        })
    };
    let waiting = Instant::now();
    while lines.lock().unwrap().is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("ledger load ended by itself ({status}): {err}");
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "no acknowledgement"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the load was still running when killed"
    );
    reader.join().unwrap();
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    lines
        .iter()
        .map(|line| {
            let mut f = line.split_whitespace();
            let (op, index, token) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            Ack {
                op: op.to_owned(),
                index: index.parse().unwrap(),
                token: token.to_owned(),
            }
        })
        .collect()
}

async fn crash_and_recover(postgres: bool) {
    let env = Env::new(postgres).await;
    let acks = load_then_kill(&env);
    let backend = if postgres { "postgres" } else { "sqlite" };
    eprintln!(
        "ledger_crash ({backend}): {} operations acknowledged before SIGKILL",
        acks.len()
    );
    assert!(acks.len() >= 64, "too little load: {acks:?}");

    let verifier = keys::load(env.dir.path(), LedgerName::Req)
        .unwrap()
        .verifier();
    let ledger = Ledger::open_read_only(LedgerName::Req, &env.location(), verifier)
        .await
        .unwrap();
    let head = ledger.head().await.unwrap();
    let mut entries = HashMap::new();
    while (entries.len() as u64) < head.size {
        let page = ledger.entries(entries.len() as u64, 10_000).await.unwrap();
        assert!(!page.is_empty(), "entries end before the signed head");
        entries.extend(page.into_iter().map(|e| (e.index, e)));
    }
    // Every acknowledged operation is in the ledger, where its receipt said.
    let tokens = TokenLedger::new(ledger.clone()).unwrap();
    let mut burned = HashMap::new();
    for ack in &acks {
        let entry = entries
            .get(&ack.index)
            .unwrap_or_else(|| panic!("acknowledged {ack:?} is lost (head {})", head.size));
        assert_eq!(entry.kind, ack.op, "{ack:?}");
        assert_eq!(
            entry.subject.as_deref(),
            Some(ack.token.as_str()),
            "{ack:?}"
        );
        let was_burned = burned.entry(ack.token.clone()).or_insert(false);
        *was_burned |= ack.op == "burn";
    }
    for (token, was_burned) in &burned {
        let state = tokens.state(token).await.unwrap();
        let state = state.unwrap_or_else(|| panic!("acknowledged {token} is not in the index"));
        if *was_burned {
            assert!(state.burned, "{token} was burned, the index says live");
        }
    }
    let report = verify(&ledger, |_, _| {}).await.unwrap().unwrap();
    assert_eq!(report.entries, head.size);
    ledger.close().await;
    env.cli_verify();

    // Appends continue where the crash left the ledger.
    let signer = keys::load(env.dir.path(), LedgerName::Req).unwrap();
    let reopened = Ledger::open(
        LedgerName::Req,
        &env.location(),
        signer,
        Arc::new(|| 1_900_000_000),
    )
    .await
    .unwrap();
    let tokens = TokenLedger::new(reopened.clone()).unwrap();
    let receipt = tokens
        .mint(
            1_900_000_000,
            "after-the-crash",
            "0xowner",
            serde_json::Map::new(),
        )
        .await
        .unwrap();
    assert_eq!(receipt.index, head.size);
    let refused = tokens
        .mint(
            1_900_000_000,
            &acks[0].token,
            "0xowner",
            serde_json::Map::new(),
        )
        .await;
    assert!(
        refused.is_err(),
        "a token id acknowledged before the crash was minted again"
    );
    drop(tokens);
    reopened.close().await;
    let out = env.cli_verify();
    assert!(
        out.contains(&format!("req: {} entries", head.size + 1)),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_keeps_every_acknowledged_entry_across_kill_9() {
    crash_and_recover(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_ledger_keeps_every_acknowledged_entry_across_kill_9() {
    crash_and_recover(true).await;
}
