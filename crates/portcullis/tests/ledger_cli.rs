//! `portcullis ledger verify | checkpoint | keys`, run as the real binary on a data directory
//! whose ledgers the hidden `ledger load` filled: a clean verification, a signed head that
//! opens with the printed vkey, tampering named by entry, and names that are not ledgers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use portcullis_ledger::checkpoint::Checkpoint;
use portcullis_ledger::note::NoteVerifier;
use sqlx::{Connection as _, SqliteConnection};

fn portcullis(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("PORTCULLIS_PUBLIC_URL", "https://id.cli.test")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run portcullis")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A data directory whose three ledgers exist; `auth` holds 2 × 4 × 10 entries.
fn filled() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let args = ["ledger", "load", "--ledger", "auth", "--tasks", "4"];
    let out = ok(&portcullis(
        dir.path(),
        &[&args[..], &["--count", "10"]].concat(),
    ));
    assert_eq!(out.lines().count(), 80, "{out}");
    dir
}

#[test]
fn verify_passes_then_names_the_edited_entry() {
    let dir = filled();
    let out = ok(&portcullis(dir.path(), &["ledger", "verify"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("auth: 80 entries, ")
            && lines[0].contains(" checkpoints verified, root "),
        "{out}"
    );
    assert!(lines[1].starts_with("req: 0 entries, "), "{out}");
    assert!(lines[2].starts_with("audit: "), "{out}");
    let root = lines[0].rsplit(' ').next().unwrap();
    assert_eq!(root.len(), 64, "{out}");

    // Entry 5 gets entry 6's bytes: valid JSON, wrong position and leaf.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger-auth.db").display());
        let mut db = SqliteConnection::connect(&url).await.unwrap();
        let changed = sqlx::query(
            "UPDATE entries SET body = (SELECT body FROM entries WHERE idx = 6) WHERE idx = 5",
        )
        .execute(&mut db)
        .await
        .unwrap();
        assert_eq!(changed.rows_affected(), 1);
        db.close().await.unwrap();
    });
    let out = portcullis(dir.path(), &["ledger", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("auth") && stderr.contains("entry 5"),
        "{stderr}"
    );
    // The other ledgers still verify, and say so.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("req: 0 entries") && stdout.contains("audit: "),
        "{stdout}"
    );
    assert!(!stdout.contains("auth:"), "{stdout}");
    ok(&portcullis(
        dir.path(),
        &["ledger", "verify", "--ledger", "req"],
    ));
}

#[test]
fn verify_names_entries_cut_off_the_end() {
    let dir = filled();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger-auth.db").display());
        let mut db = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM entries WHERE idx >= 70")
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
    });
    let out = portcullis(dir.path(), &["ledger", "verify", "--ledger", "auth"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("holds 70 entries but its signed head covers 80"),
        "{stderr}"
    );
}

#[test]
fn the_checkpoint_opens_with_the_printed_vkey() {
    let dir = filled();
    let keys = ok(&portcullis(dir.path(), &["ledger", "keys"]));
    let listed: Vec<(&str, &str)> = keys
        .lines()
        .map(|l| l.split_once(' ').expect("name and vkey"))
        .collect();
    assert_eq!(
        listed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["auth", "req", "audit"],
        "{keys}"
    );
    let vkey = ok(&portcullis(
        dir.path(),
        &["ledger", "keys", "--name", "auth"],
    ));
    assert_eq!(vkey.trim(), listed[0].1);
    let verifier = NoteVerifier::from_vkey(vkey.trim()).unwrap();
    assert_eq!(verifier.name(), "id.cli.test/ledger/auth");

    let note = ok(&portcullis(dir.path(), &["ledger", "checkpoint", "auth"]));
    let checkpoint = Checkpoint::open(&note, &verifier).unwrap();
    assert_eq!(checkpoint.size, 80);
    assert_eq!(checkpoint.origin, "id.cli.test/ledger/auth");
    // The root in the note is the one `verify` re-derived.
    let verified = ok(&portcullis(
        dir.path(),
        &["ledger", "verify", "--ledger", "auth"],
    ));
    assert!(
        verified.trim_end().ends_with(&hex(&checkpoint.root)),
        "{verified}"
    );
    // Another ledger's key does not open it.
    let req = NoteVerifier::from_vkey(listed[1].1).unwrap();
    assert!(Checkpoint::open(&note, &req).is_err());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn names_that_are_not_ledgers_are_refused_with_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["ledger", "verify", "--ledger", "nope"],
        vec!["ledger", "checkpoint", "AUTH"],
        vec!["ledger", "keys", "--name", "../auth"],
    ] {
        let out = portcullis(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no ledger is named"), "{args:?}: {stderr}");
    }
    // A data directory where no server ran: a clear error, and no ledger made there.
    let out = portcullis(dir.path(), &["ledger", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ledger's key"), "{stderr}");
    assert!(!dir.path().join("ledger-auth.db").exists());
}

#[test]
fn ledger_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        vec!["ledger", "--help"],
        vec!["ledger", "verify", "--help"],
        vec!["ledger", "checkpoint", "--help"],
        vec!["ledger", "keys", "--help"],
        vec!["bench", "ledger", "--help"],
    ] {
        let out = ok(&portcullis(dir.path(), &cmd));
        assert!(out.contains("Usage"), "{cmd:?}: {out}");
    }
    // The crash test's appender is not advertised.
    let out = ok(&portcullis(dir.path(), &["ledger", "--help"]));
    assert!(!out.contains("load"), "{out}");
}
