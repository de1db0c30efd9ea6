//! Ledgers on real storage, SQLite and PostgreSQL: the lifecycle rules through the writer,
//! group commit under concurrent appends, proofs that verify against the signed head,
//! reopening, isolation enforced by the database, and tampering that `verify` names.
//!
//! PostgreSQL needs `PORTCULLIS_TEST_PG_URL` (`scripts/test` starts a server); each test makes
//! its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use portcullis_ledger::lifecycle::LifecycleError;
use portcullis_ledger::merkle::{verify_consistency, verify_inclusion};
use portcullis_ledger::note::NoteSigner;
use portcullis_ledger::verify::{Break, verify};
use portcullis_ledger::{
    Ledger, LedgerError, LedgerName, Location, TokenLedger, checkpoint::Checkpoint, keys,
};
use serde_json::Map;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

const PG_URL_VAR: &str = "PORTCULLIS_TEST_PG_URL";

/// Where one test's ledgers live; removed (SQLite) or left (PostgreSQL, a fresh database).
struct Place {
    location: Location,
    _dir: tempfile::TempDir,
}

impl Place {
    async fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = match backend {
            "sqlite" => Location::Sqlite(dir.path().to_path_buf()),
            _ => {
                let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
                    panic!("{PG_URL_VAR} is not set: run through scripts/test")
                });
                let name = format!("pcl_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                Location::Postgres(format!("{base}/{name}"))
            }
        };
        Self {
            location,
            _dir: dir,
        }
    }

    fn keys_dir(&self) -> PathBuf {
        self._dir.path().to_path_buf()
    }

    async fn open(&self, name: LedgerName) -> Ledger {
        let signer =
            keys::load_or_create(&self.keys_dir(), name, &keys::origin("id.example", name))
                .unwrap();
        Ledger::open(name, &self.location, signer, Arc::new(|| 1_800_000_000))
            .await
            .unwrap()
    }

    async fn tokens(&self, name: LedgerName) -> TokenLedger {
        TokenLedger::new(self.open(name).await).unwrap()
    }
}

/// Runs each check on SQLite and on PostgreSQL.
macro_rules! both {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::Place::new("sqlite").await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::Place::new("postgres").await).await;
            })*
        }
    };
}

both!(
    lifecycle_rules_hold_through_the_writer,
    concurrent_appends_are_each_durable_and_provable,
    a_reopened_ledger_continues_its_tree,
    one_ledgers_credentials_cannot_touch_another,
    verify_names_the_first_tampered_thing,
);

fn refused(result: Result<portcullis_ledger::Receipt, LedgerError>) -> LifecycleError {
    match result {
        Err(LedgerError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn lifecycle_rules_hold_through_the_writer(place: Place) {
    let auth = place.tokens(LedgerName::Auth).await;
    let attrs = Map::new();
    let minted = auth.mint(1, "nft-1", "0xaaa", attrs.clone()).await.unwrap();
    assert_eq!((minted.index, minted.size), (0, 1));
    assert_eq!(
        refused(auth.mint(2, "nft-1", "0xbbb", attrs.clone()).await),
        LifecycleError::AlreadyMinted
    );
    assert_eq!(
        refused(auth.transfer(2, "nft-1", "0xbbb", "issuer").await),
        LifecycleError::NotOwner
    );
    auth.transfer(3, "nft-1", "0xaaa", "issuer").await.unwrap();
    auth.burn(4, "nft-1").await.unwrap();
    let state = auth.state("nft-1").await.unwrap().unwrap();
    assert!(state.burned);
    assert_eq!(state.owner, "issuer");
    // Never transferred, re-minted or revived once burned.
    assert_eq!(
        refused(auth.transfer(5, "nft-1", "issuer", "0xaaa").await),
        LifecycleError::Burned
    );
    assert_eq!(
        refused(auth.mint(5, "nft-1", "0xaaa", attrs.clone()).await),
        LifecycleError::AlreadyMinted
    );
    assert_eq!(refused(auth.burn(5, "nft-1").await), LifecycleError::Burned);
    assert_eq!(
        refused(auth.burn(5, "nft-2").await),
        LifecycleError::Unknown
    );
    assert!(matches!(
        refused(auth.mint(5, "bad id", "0xaaa", attrs).await),
        LifecycleError::BadName { .. }
    ));
    // Refusals appended nothing: three entries, and they verify.
    let head = auth.ledger().head().await.unwrap();
    assert_eq!(head.size, 3);
    let kinds: Vec<String> = auth
        .ledger()
        .entries(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["mint", "transfer", "burn"]);
    let report = verify(auth.ledger(), |_, _| {}).await.unwrap().unwrap();
    assert_eq!(report.entries, 3);
}

async fn concurrent_appends_are_each_durable_and_provable(place: Place) {
    let req = place.tokens(LedgerName::Req).await;
    let mut tasks = Vec::new();
    for i in 0..400 {
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            let token = format!("req-{i}");
            let minted = req.mint(1, &token, "0xabc", Map::new()).await.unwrap();
            let burned = req.burn(2, &token).await.unwrap();
            (minted, burned)
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        let (minted, burned) = task.await.unwrap();
        assert!(minted.index < burned.index);
        indexes.extend([minted, burned]);
    }
    let mut seen: Vec<u64> = indexes.iter().map(|r| r.index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..800).collect::<Vec<u64>>());
    let head = req.ledger().head().await.unwrap();
    assert_eq!(head.size, 800);
    // Group commit: far fewer signed heads than entries were kept or written.
    let checkpoint = Checkpoint::open(&head.checkpoint, req.ledger().verifier()).unwrap();
    assert_eq!((checkpoint.size, checkpoint.root), (800, head.root));
    assert_eq!(checkpoint.origin, "id.example/ledger/req");
    for receipt in indexes.iter().step_by(37) {
        let proof = req
            .ledger()
            .inclusion_proof(receipt.index, head.size)
            .await
            .unwrap();
        assert_eq!(proof.leaf, receipt.leaf);
        verify_inclusion(&proof.leaf, proof.index, head.size, &proof.path, &head.root).unwrap();
        // Also against the head that first covered it.
        let root = req.ledger().root_at(receipt.size).await.unwrap();
        let early = req
            .ledger()
            .inclusion_proof(receipt.index, receipt.size)
            .await
            .unwrap();
        verify_inclusion(&early.leaf, early.index, receipt.size, &early.path, &root).unwrap();
        let consistency = req
            .ledger()
            .consistency_proof(receipt.size, head.size)
            .await
            .unwrap();
        verify_consistency(receipt.size, head.size, &root, &head.root, &consistency).unwrap();
    }
    assert!(matches!(
        req.ledger().inclusion_proof(800, 800).await,
        Err(LedgerError::Proof(_))
    ));
    assert!(matches!(
        req.ledger().consistency_proof(1, 801).await,
        Err(LedgerError::Proof(_))
    ));
    let report = verify(req.ledger(), |_, _| {}).await.unwrap().unwrap();
    assert_eq!(report.entries, 800);
}

async fn a_reopened_ledger_continues_its_tree(place: Place) {
    let first = place.tokens(LedgerName::Auth).await;
    for i in 0..13 {
        first
            .mint(1, &format!("a{i}"), "0xabc", Map::new())
            .await
            .unwrap();
    }
    let before = first.ledger().head().await.unwrap();
    first.ledger().close().await;
    drop(first);
    let again = place.tokens(LedgerName::Auth).await;
    assert_eq!(again.ledger().head().await.unwrap(), before);
    let next = again.burn(2, "a3").await.unwrap();
    assert_eq!(next.index, 13);
    let old_root = again.ledger().root_at(13).await.unwrap();
    assert_eq!(old_root, before.root);
    let head = again.ledger().head().await.unwrap();
    let proof = again.ledger().consistency_proof(13, 14).await.unwrap();
    verify_consistency(13, 14, &before.root, &head.root, &proof).unwrap();
    assert!(verify(again.ledger(), |_, _| {}).await.unwrap().is_ok());
    // The key is the ledger's own: another key's verifier refuses its checkpoint.
    let stranger = NoteSigner::new("id.example/ledger/auth", SigningKey::from_bytes(&[7; 32]))
        .unwrap()
        .verifier();
    assert!(Checkpoint::open(&head.checkpoint, &stranger).is_err());
}

async fn one_ledgers_credentials_cannot_touch_another(place: Place) {
    let auth = place.tokens(LedgerName::Auth).await;
    let req = place.tokens(LedgerName::Req).await;
    auth.mint(1, "nft-1", "0xabc", Map::new()).await.unwrap();
    req.mint(1, "req-1", "0xabc", Map::new()).await.unwrap();
    assert_ne!(
        auth.ledger().verifier().key(),
        req.ledger().verifier().key()
    );
    let attack = match place.location {
        Location::Postgres(_) => {
            "INSERT INTO ledger_auth.tokens (token, owner, burned, attributes, last_idx) \
             VALUES ('forged', '0xevil', false, '{}', 0)"
        }
        // The req ledger's SQLite connection only knows its own file.
        Location::Sqlite(_) => {
            "INSERT INTO main.tokens (token, owner, burned, attributes, last_idx) \
             VALUES ('forged', '0xevil', 0, '{}', 0)"
        }
    };
    match place.location {
        Location::Postgres(_) => {
            let e = req
                .ledger()
                .execute_as_this_ledger(attack)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("permission denied"), "{e}");
            let read = req
                .ledger()
                .execute_as_this_ledger("SELECT * FROM ledger_auth.entries")
                .await
                .unwrap_err();
            assert!(read.to_string().contains("permission denied"), "{read}");
        }
        Location::Sqlite(_) => {
            // It lands in req's own file, never in auth's.
            req.ledger().execute_as_this_ledger(attack).await.unwrap();
            assert!(req.state("forged").await.unwrap().is_some());
        }
    }
    assert_eq!(auth.state("forged").await.unwrap(), None);
    assert_eq!(auth.state("req-1").await.unwrap(), None);
    assert_eq!(auth.ledger().head().await.unwrap().size, 1);
}

async fn verify_names_the_first_tampered_thing(place: Place) {
    let req = place.tokens(LedgerName::Req).await;
    for i in 0..40 {
        req.mint(1, &format!("t{i}"), "0xabc", Map::new())
            .await
            .unwrap();
    }
    let ledger = req.ledger();
    assert!(verify(ledger, |_, _| {}).await.unwrap().is_ok());
    // Each tampering below is found earlier in the walk than the one before it, so each
    // check sees the newest.

    // The tail cut off: the signed head covers 40.
    ledger
        .execute_as_this_ledger("DELETE FROM entries WHERE idx >= 30")
        .await
        .unwrap();
    match verify(ledger, |_, _| {}).await.unwrap() {
        Err(Break::Truncated {
            present: 30,
            signed: 40,
        }) => {}
        other => panic!("expected the truncation to be named, got {other:?}"),
    }

    // A stored subtree hash (leaves 12..16) changed: proofs from it would lie.
    ledger
        .execute_as_this_ledger(
            "UPDATE nodes SET hash = (SELECT leaf FROM entries WHERE idx = 0) \
             WHERE level = 2 AND idx = 3",
        )
        .await
        .unwrap();
    match verify(ledger, |_, _| {}).await.unwrap() {
        Err(Break::Node { level: 2, index: 3 }) => {}
        other => panic!("expected the node to be named, got {other:?}"),
    }

    // Entry 5's bytes replaced by entry 6's.
    ledger
        .execute_as_this_ledger(
            "UPDATE entries SET body = (SELECT body FROM entries WHERE idx = 6) WHERE idx = 5",
        )
        .await
        .unwrap();
    match verify(ledger, |_, _| {}).await.unwrap() {
        Err(Break::Entry(bad)) => assert_eq!(bad.index, 5),
        other => panic!("expected entry 5 to be named, got {other:?}"),
    }
}
