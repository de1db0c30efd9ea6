//! `portcullis client …`, tested by running the real binary against a fresh data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn portcullis(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "info")
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

/// `client_id: …` and `client_secret: …` from the output of `add` or `rotate-secret`.
fn id_and_secret(out: &str) -> (String, String) {
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .trim()
            .to_owned()
    };
    (field("client_id:"), field("client_secret:"))
}

/// Every byte the databases hold on disk (the main one and the audit ledger), main files and
/// write-ahead logs.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in [
        "portcullis.db",
        "portcullis.db-wal",
        "ledger-audit.db",
        "ledger-audit.db-wal",
    ] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn clients_are_managed_offline_and_secrets_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        vec!["client", "--help"],
        vec!["client", "add", "--help"],
        vec!["client", "rotate-secret", "--help"],
    ] {
        assert!(ok(&portcullis(dir.path(), &cmd)).contains("Usage"));
    }

    let add = portcullis(
        dir.path(),
        &[
            "client",
            "add",
            "--name",
            "billing",
            "--scope",
            "ledger:read",
            "--scope",
            "ledger:write",
        ],
    );
    let (id, secret) = id_and_secret(&ok(&add));
    assert_eq!(secret.len(), 43, "a 256-bit secret in base64url");
    assert!(!String::from_utf8_lossy(&add.stderr).contains(&secret));

    // The same name again is refused; no scope is refused.
    let again = portcullis(
        dir.path(),
        &["client", "add", "--name", "billing", "--scope", "x"],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(
        !portcullis(dir.path(), &["client", "add", "--name", "empty"])
            .status
            .success()
    );

    let list = ok(&portcullis(dir.path(), &["client", "list"]));
    assert!(
        list.contains(&format!("{id}\tbilling\tactive\tledger:read ledger:write")),
        "{list}"
    );
    assert!(!list.contains(&secret), "{list}");

    let rotate = portcullis(dir.path(), &["client", "rotate-secret", &id]);
    let (same_id, new_secret) = id_and_secret(&ok(&rotate));
    assert_eq!(same_id, id);
    assert_ne!(new_secret, secret);
    assert!(
        !portcullis(dir.path(), &["client", "rotate-secret", "nobody"])
            .status
            .success()
    );

    // Only hashes are stored: neither secret is anywhere in the database.
    let bytes = database_bytes(dir.path());
    assert!(!bytes.is_empty());
    for s in [&secret, &new_secret] {
        assert!(
            !contains(&bytes, s),
            "a client secret was stored in the clear"
        );
    }

    let removed = ok(&portcullis(dir.path(), &["client", "remove", &id]));
    assert!(removed.contains(&id), "{removed}");
    let gone = portcullis(dir.path(), &["client", "remove", &id]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no such client"));
    assert_eq!(ok(&portcullis(dir.path(), &["client", "list"])).trim(), "");

    // Every action is in the audit chain, which still verifies.
    let verified = ok(&portcullis(dir.path(), &["audit", "verify"]));
    assert!(verified.contains("3 entries verified"), "{verified}");
}
