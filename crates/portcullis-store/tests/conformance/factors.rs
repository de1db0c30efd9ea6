//! [`FactorRepo`](portcullis_store::repo::FactorRepo): confirmation, the TOTP replay guard
//! and single-use recovery codes.

use portcullis_core::factor::FactorKind;
use portcullis_store::Store;
use portcullis_store::model::FactorRecord;

use crate::fixtures::{T0, create_account, race};

fn totp(id: &str, account: portcullis_core::ids::AccountId, created_at: i64) -> FactorRecord {
    FactorRecord {
        id: id.to_owned(),
        account_id: account,
        kind: FactorKind::Totp,
        label: "phone".into(),
        secret_ct: Some(vec![1, 2, 3]),
        last_step: None,
        created_at,
        confirmed_at: None,
        last_used_at: None,
    }
}

pub async fn confirm_and_replay_guard(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let f = &store.factors;
    f.insert(&totp("f1", a.id, T0)).await.unwrap();
    // Not usable before confirmation; only its owner confirms it, once.
    assert!(!f.advance_step("f1", 100, T0 + 1).await.unwrap());
    assert!(!f.confirm("f1", b.id, 100, T0 + 1).await.unwrap());
    assert!(f.confirm("f1", a.id, 100, T0 + 1).await.unwrap());
    assert!(!f.confirm("f1", a.id, 101, T0 + 2).await.unwrap());
    let listed = f.list(a.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].confirmed_at, listed[0].last_step),
        (Some(T0 + 1), Some(100))
    );
    assert_eq!(listed[0].secret_ct.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(f.list(b.id).await.unwrap().is_empty());

    // The same or an older step is refused; a later one is accepted once.
    assert!(!f.advance_step("f1", 100, T0 + 3).await.unwrap());
    assert!(!f.advance_step("f1", 99, T0 + 3).await.unwrap());
    assert!(f.advance_step("f1", 101, T0 + 3).await.unwrap());
    assert!(!f.advance_step("f1", 101, T0 + 4).await.unwrap());
    assert_eq!(f.list(a.id).await.unwrap()[0].last_used_at, Some(T0 + 3));

    // Deleting is scoped to the owner.
    assert!(!f.delete("f1", b.id).await.unwrap());
    assert!(f.delete("f1", a.id).await.unwrap());
    assert!(f.list(a.id).await.unwrap().is_empty());
}

pub async fn concurrent_use_of_one_code_succeeds_once(store: Store) {
    let a = create_account(&store, 1).await;
    store.factors.insert(&totp("f1", a.id, T0)).await.unwrap();
    assert!(store.factors.confirm("f1", a.id, 10, T0).await.unwrap());
    let s = store.clone();
    let results = race(8, move |_| {
        let s = s.clone();
        async move { s.factors.advance_step("f1", 11, T0 + 1).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
}

pub async fn unconfirmed_leftovers_are_purged(store: Store) {
    let a = create_account(&store, 1).await;
    let f = &store.factors;
    f.insert(&totp("old", a.id, T0)).await.unwrap();
    f.insert(&totp("new", a.id, T0 + 100)).await.unwrap();
    f.insert(&totp("done", a.id, T0)).await.unwrap();
    f.confirm("done", a.id, 1, T0 + 1).await.unwrap();
    assert_eq!(
        f.delete_unconfirmed(a.id, FactorKind::Totp, T0 + 50)
            .await
            .unwrap(),
        1
    );
    let ids: Vec<String> = f
        .list(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec!["done".to_owned(), "new".to_owned()]);
}

pub async fn recovery_codes_are_single_use(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let f = &store.factors;
    let hashes: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; 32]).collect();
    f.replace_recovery_codes(a.id, &hashes, T0).await.unwrap();
    assert_eq!(f.recovery_codes_left(a.id).await.unwrap(), 10);
    assert!(
        !f.use_recovery_code(b.id, &hashes[0], T0 + 1).await.unwrap(),
        "not b's code"
    );
    assert!(f.use_recovery_code(a.id, &hashes[0], T0 + 1).await.unwrap());
    assert!(
        !f.use_recovery_code(a.id, &hashes[0], T0 + 2).await.unwrap(),
        "spent"
    );
    assert!(
        !f.use_recovery_code(a.id, &[9u8; 31], T0 + 2).await.unwrap(),
        "unknown"
    );
    assert_eq!(f.recovery_codes_left(a.id).await.unwrap(), 9);

    // Regenerating replaces the whole set: old codes stop working.
    let fresh: Vec<Vec<u8>> = (20u8..30).map(|i| vec![i; 32]).collect();
    f.replace_recovery_codes(a.id, &fresh, T0 + 3)
        .await
        .unwrap();
    assert_eq!(f.recovery_codes_left(a.id).await.unwrap(), 10);
    assert!(!f.use_recovery_code(a.id, &hashes[1], T0 + 4).await.unwrap());
    assert!(f.use_recovery_code(a.id, &fresh[1], T0 + 4).await.unwrap());

    // Shredding the account removes its factors and codes.
    store.factors.insert(&totp("f", a.id, T0)).await.unwrap();
    store.accounts.shred(a.id, T0 + 5).await.unwrap();
    assert!(f.list(a.id).await.unwrap().is_empty());
    assert_eq!(f.recovery_codes_left(a.id).await.unwrap(), 0);
}

pub async fn secrets_replaced_on_confirmation_and_use(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let f = &store.factors;
    f.insert(&totp("pk", a.id, T0)).await.unwrap();
    assert!(
        !f.update_secret("pk", &[9], T0 + 1).await.unwrap(),
        "not before confirmation"
    );
    assert!(
        !f.confirm_with_secret("pk", b.id, &[7], T0 + 1)
            .await
            .unwrap(),
        "owner only"
    );
    assert!(
        f.confirm_with_secret("pk", a.id, &[7], T0 + 1)
            .await
            .unwrap()
    );
    assert!(
        !f.confirm_with_secret("pk", a.id, &[8], T0 + 2)
            .await
            .unwrap(),
        "once"
    );
    assert_eq!(
        f.list(a.id).await.unwrap()[0].secret_ct.as_deref(),
        Some(&[7u8][..])
    );
    assert!(f.update_secret("pk", &[9], T0 + 3).await.unwrap());
    let got = &f.list(a.id).await.unwrap()[0];
    assert_eq!(
        (got.secret_ct.as_deref(), got.last_used_at),
        (Some(&[9u8][..]), Some(T0 + 3))
    );
}
