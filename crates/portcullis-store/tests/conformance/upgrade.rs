//! Migrations on a database that already holds data, on both backends, each on a fresh
//! database migrated up to the one before. 0008: the credentials of live accounts are kept,
//! those left behind by accounts shredded before it are dropped, and the new cascades work
//! afterwards. 0009: a challenge in flight keeps the failures its JSON recorded.

use portcullis_core::ids::AccountId;
use portcullis_store::model::OtpOutcome;
use sqlx::Connection as _;
use std::path::Path;

use crate::fixtures::{T0, account_id, challenge};
use crate::support::TestDb;

/// Applies the migrations of `backend` numbered below `first_left_out`, from a copy of its
/// folder.
async fn migrate_below(db: &TestDb, backend: &str, first_left_out: &str) {
    let all = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < first_left_out {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    if backend == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    }
}

/// Rows as 0007 allowed them: `live` and `peer` have data keys, `shredded` lost its key
/// (shredded by hand, as the old code did) but still owns a row in every credential table.
fn seed(backend: &str, live: AccountId, peer: AccountId, shredded: AccountId) -> String {
    let blob = |b: u8| {
        let hex = format!("{b:02x}").repeat(32);
        if backend == "sqlite" {
            format!("X'{hex}'")
        } else {
            format!("'\\x{hex}'::bytea")
        }
    };
    let (l, p, s) = (live, peer, shredded);
    let far = T0 + 86_400;
    format!(
        "INSERT INTO accounts (id, email_ct, password_hash, status, roles, created_at, updated_at)
             VALUES ('{l}', {b1}, 'h', 'active', '[]', {T0}, {T0}),
                    ('{p}', {b1}, 'h', 'active', '[]', {T0}, {T0}),
                    ('{s}', {b1}, '', 'deleted', '[]', {T0}, {T0});
         INSERT INTO account_keys (account_id, master_version, wrapped)
             VALUES ('{l}', 1, {b1}), ('{p}', 1, {b1});
         INSERT INTO factors (id, account_id, kind, label, secret_ct, created_at)
             VALUES ('f-live', '{l}', 'totp', 'phone', {b1}, {T0}),
                    ('f-gone', '{s}', 'totp', 'phone', {b1}, {T0});
         INSERT INTO recovery_codes (account_id, code_hash, created_at)
             VALUES ('{l}', {b1}, {T0}), ('{s}', {b2}, {T0});
         INSERT INTO otp_codes (id, account_id, channel, target, code_hash, created_at, expires_at)
             VALUES ('o-live', '{l}', 'email', 'inbox', {b1}, {T0}, {far}),
                    ('o-gone', '{s}', 'email', 'inbox', {b1}, {T0}, {far});
         INSERT INTO dualconfirm_pairs (id, advisor_id, client_id, secret_sealed, status,
                                        language, created_by, created_at, updated_at)
             VALUES ('p-live', '{l}', '{p}', {b1}, 'active', 'en', 'cli', {T0}, {T0}),
                    ('p-gone-client', '{l}', '{s}', {b1}, 'active', 'en', 'cli', {T0}, {T0}),
                    ('p-gone-advisor', '{s}', '{p}', {b1}, 'active', 'en', 'cli', {T0}, {T0});",
        b1 = blob(1),
        b2 = blob(2),
    )
}

async fn upgrade(db: TestDb) {
    let backend = db.backend;
    let (live, peer, shredded) = (account_id(1), account_id(2), account_id(3));
    migrate_below(&db, backend, "0008").await;
    db.raw_execute(seed(backend, live, peer, shredded)).await;

    let store = portcullis_store::open(db.url(), true).await.unwrap();

    let factors = store.factors.list(live).await.unwrap();
    assert_eq!(
        factors.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["f-live"]
    );
    assert!(store.factors.list(shredded).await.unwrap().is_empty());
    assert_eq!(store.factors.recovery_codes_left(live).await.unwrap(), 1);
    assert_eq!(
        store.factors.recovery_codes_left(shredded).await.unwrap(),
        0
    );
    let gone = "SELECT code_hash FROM otp_codes WHERE account_id = $1";
    assert_eq!(db.raw_bytes(gone, &shredded.to_string()).await, None);
    let code = vec![1u8; 32];
    let checked = store.otp.check(live, "email", "inbox", &code, T0 + 1, 5);
    assert_eq!(checked.await.unwrap(), OtpOutcome::Accepted);
    let pairs = store.pairs.list().await.unwrap();
    assert_eq!(
        pairs.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p-live"]
    );

    // The cascades hold from now on.
    store.accounts.shred(live, T0 + 10).await.unwrap();
    assert!(store.factors.list(live).await.unwrap().is_empty());
    assert_eq!(store.factors.recovery_codes_left(live).await.unwrap(), 0);
    assert!(store.pairs.list().await.unwrap().is_empty());

    drop(store);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_0008_keeps_live_credentials_and_cascades() {
    upgrade(TestDb::sqlite_with(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_0008_keeps_live_credentials_and_cascades() {
    upgrade(TestDb::postgres_with(false).await).await;
}

/// A challenge written before 0009 with three failures in its JSON.
async fn upgrade_0009(db: TestDb) {
    migrate_below(&db, db.backend, "0009").await;
    let mut c = challenge(1, T0, 300);
    c.failures = 3;
    let state = serde_json::to_string(&c).unwrap().replace('\'', "''");
    db.raw_execute(format!(
        "INSERT INTO login_challenges (id, state, version, expires_at) \
         VALUES ('{}', '{state}', 2, {})",
        c.id, c.expires_at
    ))
    .await;

    let store = portcullis_store::open(db.url(), true).await.unwrap();
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((c.clone(), 2))
    );
    let next = store.challenges.reserve_attempt(c.id, 5).await.unwrap();
    assert_eq!(next, Some(4));

    drop(store);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_0009_keeps_the_failures_of_challenges_in_flight() {
    upgrade_0009(TestDb::sqlite_with(false).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_0009_keeps_the_failures_of_challenges_in_flight() {
    upgrade_0009(TestDb::postgres_with(false).await).await;
}
