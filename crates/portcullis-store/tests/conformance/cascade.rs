//! Shredding an account through the database's cascades: its credentials (factors, recovery
//! codes, one-time codes, DualConfirm pairs) go with its data key, checked row by row below
//! the repositories; its audit records stay; another account's rows are untouched.

use portcullis_core::ids::AccountId;
use portcullis_store::Store;
use portcullis_store::model::{FactorRecord, OtpOutcome, PairRecord, PairStatus};

use crate::fixtures::{T0, create_account, event};
use crate::support::TestDb;

const FACTOR: &str = "SELECT secret_ct FROM factors WHERE account_id = $1";
const RECOVERY: &str = "SELECT code_hash FROM recovery_codes WHERE account_id = $1";
const OTP: &str = "SELECT code_hash FROM otp_codes WHERE account_id = $1";
const PAIR_AS_ADVISOR: &str = "SELECT secret_sealed FROM dualconfirm_pairs WHERE advisor_id = $1";
const PAIR_AS_CLIENT: &str = "SELECT secret_sealed FROM dualconfirm_pairs WHERE client_id = $1";
const ROWS: [&str; 5] = [FACTOR, RECOVERY, OTP, PAIR_AS_ADVISOR, PAIR_AS_CLIENT];

fn factor(n: u8, account: AccountId) -> FactorRecord {
    FactorRecord {
        id: format!("factor-{n}"),
        account_id: account,
        kind: portcullis_core::factor::FactorKind::Totp,
        label: "phone".into(),
        secret_ct: Some(vec![n; 16]),
        last_step: None,
        created_at: T0,
        confirmed_at: None,
        last_used_at: None,
    }
}

fn pair(n: u8, advisor: AccountId, client: AccountId) -> PairRecord {
    PairRecord {
        id: format!("pair-{n}"),
        advisor,
        client,
        secret_sealed: vec![n; 60],
        status: PairStatus::Active,
        language: "en".into(),
        created_by: "cli".into(),
        created_at: T0,
        updated_at: T0,
        advisor_name_sealed: None,
        client_name_sealed: None,
    }
}

/// Gives `account` one of every credential that shredding removes (`n` keeps ids distinct).
async fn enrol(store: &Store, n: u8, account: AccountId) {
    store.factors.insert(&factor(n, account)).await.unwrap();
    store
        .factors
        .replace_recovery_codes(account, &[vec![n; 32], vec![n + 100; 32]], T0)
        .await
        .unwrap();
    let (id, code) = (format!("otp-{n}"), vec![n; 32]);
    store
        .otp
        .issue(&id, account, "email", "inbox", &code, T0, T0 + 600)
        .await
        .unwrap();
}

/// Which of the credential tables still hold a row of `account`.
async fn rows_of(db: &TestDb, account: AccountId) -> Vec<&'static str> {
    let mut found = Vec::new();
    for sql in ROWS {
        if db.raw_bytes(sql, &account.to_string()).await.is_some() {
            found.push(sql);
        }
    }
    found
}

pub async fn shredding_removes_credentials(store: Store, db: &TestDb) {
    let gone = create_account(&store, 1).await.id;
    let keep = create_account(&store, 2).await.id;
    let other = create_account(&store, 3).await.id;
    enrol(&store, 1, gone).await;
    enrol(&store, 2, keep).await;
    // `gone` and `keep` pair both ways; `keep` and `other` too.
    let all = [
        pair(1, gone, keep),
        pair(2, keep, gone),
        pair(3, keep, other),
        pair(4, other, keep),
    ];
    for p in &all {
        store.pairs.create(p).await.unwrap();
    }
    assert_eq!(rows_of(db, gone).await, ROWS.to_vec());

    store.accounts.shred(gone, T0 + 10).await.unwrap();

    assert_eq!(rows_of(db, gone).await, Vec::<&str>::new());
    assert!(store.factors.list(gone).await.unwrap().is_empty());
    assert_eq!(store.factors.recovery_codes_left(gone).await.unwrap(), 0);
    let code = vec![1u8; 32];
    assert_eq!(
        store
            .otp
            .check(gone, "email", "inbox", &code, T0 + 11, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );
    assert_eq!(store.pairs.get("pair-1").await.unwrap(), None);
    assert_eq!(store.pairs.get("pair-2").await.unwrap(), None);

    // The other accounts keep everything.
    assert_eq!(rows_of(db, keep).await, ROWS.to_vec());
    assert_eq!(store.factors.list(keep).await.unwrap().len(), 1);
    assert_eq!(store.factors.recovery_codes_left(keep).await.unwrap(), 2);
    let left = store.pairs.list().await.unwrap();
    assert_eq!(left, all[2..].to_vec());
}

pub async fn shredded_accounts_take_no_credentials(store: Store) {
    let gone = create_account(&store, 1).await.id;
    let keep = create_account(&store, 2).await.id;
    store.accounts.shred(gone, T0 + 10).await.unwrap();

    assert!(store.factors.insert(&factor(1, gone)).await.is_err());
    assert!(
        store
            .factors
            .replace_recovery_codes(gone, &[vec![1; 32]], T0 + 11)
            .await
            .is_err()
    );
    let code = vec![1u8; 32];
    let issued = store
        .otp
        .issue("otp-1", gone, "email", "inbox", &code, T0 + 11, T0 + 600)
        .await;
    assert!(issued.is_err());
    assert!(store.pairs.create(&pair(1, keep, gone)).await.is_err());
    assert!(store.pairs.create(&pair(2, gone, keep)).await.is_err());
    // Refused writes left nothing behind.
    assert_eq!(store.factors.recovery_codes_left(gone).await.unwrap(), 0);
    assert!(store.pairs.of_advisor(keep).await.unwrap().is_empty());
}

pub async fn audit_records_survive_shredding(store: Store) {
    let gone = create_account(&store, 1).await.id;
    for n in 1..=3 {
        store
            .legacy_audit
            .append(T0 + n, event("login.succeeded", n))
            .await
            .unwrap();
    }
    let before = store.legacy_audit.page(0, 100).await.unwrap();
    let head = store.legacy_audit.head().await.unwrap();

    store.accounts.shred(gone, T0 + 10).await.unwrap();

    assert_eq!(store.legacy_audit.page(0, 100).await.unwrap(), before);
    assert_eq!(store.legacy_audit.head().await.unwrap(), head);
    let by_actor = store
        .legacy_audit
        .by_actor(&gone.to_string(), 10)
        .await
        .unwrap();
    assert_eq!(by_actor, before);
}
