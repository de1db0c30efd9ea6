//! The old hash-chained audit log moves onto the audit ledger once, unchanged and in order,
//! on SQLite and PostgreSQL; a resumed move does not duplicate; a broken old chain is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::audit::AuditEvent;
use portcullis_ledger::audit::MIGRATED_EVENT;
use portcullis_ledger::verify::verify;
use portcullis_ledger::{AuditLedger, Ledger, LedgerName, Location, keys};
use portcullis_store::Store;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

fn event(i: i64) -> AuditEvent {
    AuditEvent {
        event: format!("user.event{i}"),
        actor: Some(format!("acct_{}", i % 3)),
        subject: Some(format!("s{i}")),
        ip: Some("127.0.0.1".into()),
        detail: serde_json::json!({"n": i}),
    }
}

/// A store and the audit ledger's location beside it.
async fn place(backend: &str, dir: &std::path::Path) -> (Store, Location, String) {
    match backend {
        "sqlite" => {
            let url = format!("sqlite://{}/portcullis.db", dir.display());
            let store = portcullis_store::open(&url, true).await.unwrap();
            (store, Location::Sqlite(dir.to_path_buf()), url)
        }
        _ => {
            let admin_url = std::env::var("PORTCULLIS_TEST_PG_URL")
                .expect("PORTCULLIS_TEST_PG_URL is not set: run through scripts/test");
            let name = format!("pcm_{}", uuid::Uuid::now_v7().simple());
            let mut admin = PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            let url = format!("{base}/{name}");
            let store = portcullis_store::open(&url, true).await.unwrap();
            (store, Location::Postgres(url.clone()), url)
        }
    }
}

async fn open_audit(dir: &std::path::Path, location: &Location) -> AuditLedger {
    let signer = keys::load_or_create(dir, LedgerName::Audit, "id.example/ledger/audit").unwrap();
    let ledger = Ledger::open(
        LedgerName::Audit,
        location,
        signer,
        Arc::new(|| 1_900_000_000),
    )
    .await
    .unwrap();
    AuditLedger::new(ledger).unwrap()
}

async fn the_old_log_moves_once_unchanged(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (store, location, url) = place(backend, dir.path()).await;
    for i in 0..25 {
        store
            .legacy_audit
            .append(1_700_000_000 + i, event(i))
            .await
            .unwrap();
    }
    let old = store.legacy_audit.page(0, 100).await.unwrap();
    let old_head = store.legacy_audit.head().await.unwrap().unwrap();

    // A move cut short: the first 10 entries already on the ledger.
    let audit = open_audit(dir.path(), &location).await;
    for record in &old[..10] {
        audit.append(record.at, record.event.clone()).await.unwrap();
    }
    assert_eq!(
        audit
            .migrate_legacy(store.legacy_audit.as_ref(), 5)
            .await
            .unwrap(),
        15
    );
    let moved = audit.page(0, 100).await.unwrap();
    assert_eq!(moved.len(), 26);
    for (new, old) in moved.iter().zip(&old) {
        assert_eq!((new.seq, new.at, &new.event), (old.seq, old.at, &old.event));
    }
    let marker = &moved[25];
    assert_eq!(marker.event.event, MIGRATED_EVENT);
    assert_eq!(marker.event.detail["entries"], 25);
    assert_eq!(marker.event.detail["old_head"], hex::encode(old_head.1));
    // The old log is empty, so nothing moves again.
    assert_eq!(store.legacy_audit.head().await.unwrap(), None);
    assert!(store.legacy_audit.page(0, 10).await.unwrap().is_empty());
    assert_eq!(
        audit
            .migrate_legacy(store.legacy_audit.as_ref(), 6)
            .await
            .unwrap(),
        0
    );
    assert_eq!(audit.page(0, 100).await.unwrap().len(), 26);
    assert_eq!(audit.by_actor("acct_1", 100).await.unwrap().len(), 8);
    let report = verify(audit.ledger(), |_, _| {}).await.unwrap().unwrap();
    assert_eq!(report.entries, 26);
    drop(url);
}

async fn a_broken_old_chain_is_refused(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (store, location, _) = place(backend, dir.path()).await;
    for i in 0..5 {
        store
            .legacy_audit
            .append(1_700_000_000 + i, event(i))
            .await
            .unwrap();
    }
    // Entries cut off the end of the old chain are caught by its head.
    let cut = match &location {
        Location::Sqlite(_) => "DELETE FROM audit_log WHERE seq = 5",
        Location::Postgres(_) => "DELETE FROM public.audit_log WHERE seq = 5",
    };
    match &location {
        Location::Sqlite(dir) => {
            let url = format!("sqlite://{}/portcullis.db", dir.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(cut).execute(&mut c).await.unwrap();
        }
        Location::Postgres(url) => {
            let mut c = PgConnection::connect(url).await.unwrap();
            sqlx::query(cut).execute(&mut c).await.unwrap();
        }
    }
    let audit = open_audit(dir.path(), &location).await;
    let e = audit
        .migrate_legacy(store.legacy_audit.as_ref(), 5)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("old audit log is broken"), "{e}");
    assert!(audit.page(0, 10).await.unwrap().is_empty());
    assert!(store.legacy_audit.head().await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_old_log_moves_once_unchanged() {
    the_old_log_moves_once_unchanged("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_old_log_moves_once_unchanged() {
    the_old_log_moves_once_unchanged("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_broken_old_chain_is_refused() {
    a_broken_old_chain_is_refused("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_broken_old_chain_is_refused() {
    a_broken_old_chain_is_refused("postgres").await;
}
