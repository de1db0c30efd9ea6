//! [`AccountRepo`](portcullis_store::repo::AccountRepo): records, the e-mail index, status, shredding, data keys.

use portcullis_store::keyring::WrappedKey;
use portcullis_store::model::{AccountRecord, AccountStatus, RefreshOutcome};
use portcullis_store::{Store, StoreError};

use crate::fixtures::{
    T0, account, account_id, create_account, create_session, email_index, same_key, session, token,
    wrapped,
};

pub async fn create_get_and_find(store: Store) {
    let mut a = account(1);
    a.phone_ct = Some(vec![0xF0, 1]);
    a.roles = vec!["user".to_owned(), "admin".to_owned()];
    store.accounts.create(&a, &wrapped(1)).await.unwrap();

    assert_eq!(store.accounts.get(a.id).await.unwrap(), Some(a.clone()));
    let found = store
        .accounts
        .find_by_email_index(&email_index(1))
        .await
        .unwrap();
    assert_eq!(found, Some(a.clone()));
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.email_ct, a.email_ct);
    assert_eq!(got.phone_ct, a.phone_ct);
    assert_eq!(got.display_name_ct, a.display_name_ct);
    assert_eq!(got.password_hash, a.password_hash);
    assert_eq!(got.verified_at, None);

    assert_eq!(store.accounts.get(account_id(2)).await.unwrap(), None);
    let unknown = store.accounts.find_by_email_index(&email_index(2)).await;
    assert_eq!(unknown.unwrap(), None);
    let key = store.accounts.data_key(a.id).await.unwrap().unwrap();
    assert!(same_key(&key, &wrapped(1)));
}

pub async fn duplicate_email_index_conflicts(store: Store) {
    let a = create_account(&store, 1).await;
    let mut b = account(2);
    b.email_index = a.email_index.clone();
    let err = store.accounts.create(&b, &wrapped(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Nothing of the refused account was written, not even its key.
    assert_eq!(store.accounts.get(b.id).await.unwrap(), None);
    assert!(store.accounts.data_key(b.id).await.unwrap().is_none());
    assert_eq!(store.accounts.all_data_keys().await.unwrap().len(), 1);
    let found = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(found.unwrap().map(|r| r.id), Some(a.id));
}

pub async fn list_oldest_first_with_limit_and_offset(store: Store) {
    for n in [3, 1, 5, 2, 4] {
        create_account(&store, n).await;
    }
    let ids = |v: Vec<AccountRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = ids(store.accounts.list(100, 0).await.unwrap());
    assert_eq!(all, (1..=5).map(account_id).collect::<Vec<_>>());
    let page = ids(store.accounts.list(2, 0).await.unwrap());
    assert_eq!(page, vec![account_id(1), account_id(2)]);
    let page = ids(store.accounts.list(2, 2).await.unwrap());
    assert_eq!(page, vec![account_id(3), account_id(4)]);
    assert_eq!(
        ids(store.accounts.list(2, 4).await.unwrap()),
        vec![account_id(5)]
    );
    assert!(store.accounts.list(2, 5).await.unwrap().is_empty());
}

pub async fn update_pii(store: Store) {
    let a = create_account(&store, 1).await;
    let other = create_account(&store, 2).await;
    let mut changed = a.clone();
    changed.email_index = Some(email_index(9));
    changed.email_ct = vec![0xE9];
    changed.phone_ct = Some(vec![0xF9]);
    changed.display_name_ct = None;
    // Fields that are not personal data are left alone even if the record differs.
    changed.password_hash = "not-this".to_owned();
    changed.status = AccountStatus::Disabled;
    changed.roles = vec!["admin".to_owned()];
    store.accounts.update_pii(&changed, T0 + 100).await.unwrap();

    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.email_index, Some(email_index(9)));
    assert_eq!(got.email_ct, vec![0xE9]);
    assert_eq!(got.phone_ct, Some(vec![0xF9]));
    assert_eq!(got.display_name_ct, None);
    assert_eq!(got.updated_at, T0 + 100);
    assert_eq!(got.password_hash, a.password_hash);
    assert_eq!(got.status, AccountStatus::Pending);
    assert_eq!(got.roles, a.roles);
    assert_eq!(got.created_at, a.created_at);
    let old = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(old.unwrap(), None);
    let new = store.accounts.find_by_email_index(&email_index(9)).await;
    assert_eq!(new.unwrap().map(|r| r.id), Some(a.id));

    // Taking another account's e-mail is refused and changes nothing.
    let mut stolen = got.clone();
    stolen.email_index = other.email_index.clone();
    stolen.email_ct = vec![0xEE];
    let err = store
        .accounts
        .update_pii(&stolen, T0 + 200)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.accounts.get(a.id).await.unwrap(), Some(got));
}

pub async fn password_status_roles(store: Store) {
    let a = create_account(&store, 1).await;
    let ghost = account_id(9);

    store
        .accounts
        .set_password_hash(a.id, "$argon2id$new", T0 + 10)
        .await
        .unwrap();
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.password_hash.as_str(), got.updated_at),
        ("$argon2id$new", T0 + 10)
    );

    assert!(
        store
            .accounts
            .set_status(a.id, AccountStatus::Disabled, T0 + 20)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.updated_at),
        (AccountStatus::Disabled, T0 + 20)
    );
    assert!(
        store
            .accounts
            .set_status(a.id, AccountStatus::Active, T0 + 21)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accounts
            .set_status(ghost, AccountStatus::Active, T0 + 22)
            .await
            .unwrap()
    );

    let roles = vec!["admin".to_owned(), "auditor".to_owned()];
    assert!(
        store
            .accounts
            .set_roles(a.id, &roles, T0 + 30)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!((got.roles, got.updated_at), (roles.clone(), T0 + 30));
    assert!(store.accounts.set_roles(a.id, &[], T0 + 31).await.unwrap());
    assert!(
        store
            .accounts
            .get(a.id)
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );
    assert!(
        !store
            .accounts
            .set_roles(ghost, &roles, T0 + 32)
            .await
            .unwrap()
    );

    // A deleted account stays deleted: neither its status nor its roles can be set.
    store.accounts.shred(a.id, T0 + 40).await.unwrap();
    assert!(
        !store
            .accounts
            .set_status(a.id, AccountStatus::Active, T0 + 41)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accounts
            .set_roles(a.id, &roles, T0 + 42)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.status, AccountStatus::Deleted);
    assert!(got.roles.is_empty());
}

pub async fn mark_verified_only_from_pending(store: Store) {
    let a = create_account(&store, 1).await;
    assert!(store.accounts.mark_verified(a.id, T0 + 10).await.unwrap());
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.status, AccountStatus::Active);
    assert_eq!(got.verified_at, Some(T0 + 10));
    assert_eq!(got.updated_at, T0 + 10);

    assert!(!store.accounts.mark_verified(a.id, T0 + 20).await.unwrap());
    let again = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (again.verified_at, again.updated_at),
        (Some(T0 + 10), T0 + 10)
    );

    let b = create_account(&store, 2).await;
    store
        .accounts
        .set_status(b.id, AccountStatus::Disabled, T0 + 30)
        .await
        .unwrap();
    assert!(!store.accounts.mark_verified(b.id, T0 + 31).await.unwrap());
    let got = store.accounts.get(b.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.verified_at),
        (AccountStatus::Disabled, None)
    );
    assert!(
        !store
            .accounts
            .mark_verified(account_id(9), T0 + 32)
            .await
            .unwrap()
    );
}

pub async fn shred(store: Store) {
    let a = create_account(&store, 1).await;
    let keep = create_account(&store, 2).await;
    let s1 = session(a.id, 1, T0, 600, 3600);
    let s2 = session(a.id, 2, T0 + 1, 600, 3600);
    let s3 = session(keep.id, 3, T0 + 2, 600, 3600);
    for (s, n) in [(&s1, 1), (&s2, 2), (&s3, 3)] {
        create_session(&store, s, n).await;
    }

    store.accounts.shred(a.id, T0 + 100).await.unwrap();

    assert!(store.accounts.data_key(a.id).await.unwrap().is_none());
    let tomb = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(tomb.status, AccountStatus::Deleted);
    assert_eq!(tomb.email_index, None);
    assert_eq!(tomb.updated_at, T0 + 100);
    assert!(tomb.password_hash.is_empty(), "the password hash is wiped");
    let gone = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(gone.unwrap(), None);
    for s in [&s1, &s2] {
        let got = store.sessions.get(s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(T0 + 100));
    }
    assert!(
        store
            .sessions
            .list_live(a.id, T0 + 101)
            .await
            .unwrap()
            .is_empty()
    );
    let outcome = store
        .sessions
        .rotate_refresh(&token(1), &token(11), T0 + 102, 600, T0 + 9999)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);

    // The other account is untouched.
    assert!(store.accounts.data_key(keep.id).await.unwrap().is_some());
    assert_eq!(
        store.sessions.get(s3.id).await.unwrap().unwrap().revoked_at,
        None
    );
    let keys = store.accounts.all_data_keys().await.unwrap();
    assert_eq!(
        keys.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![keep.id]
    );

    // The same e-mail can register again.
    let mut again = account(3);
    again.email_index = Some(email_index(1));
    store.accounts.create(&again, &wrapped(3)).await.unwrap();
    let found = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(found.unwrap().map(|r| r.id), Some(again.id));
    // A second tombstone (two NULL indexes) is fine too.
    store.accounts.shred(keep.id, T0 + 200).await.unwrap();
    assert_eq!(
        store
            .accounts
            .get(keep.id)
            .await
            .unwrap()
            .unwrap()
            .email_index,
        None
    );
}

pub async fn data_keys(store: Store) {
    for n in [2, 1, 3] {
        create_account(&store, n).await;
    }
    let mut keys = store.accounts.all_data_keys().await.unwrap();
    keys.sort_by_key(|(id, _)| *id);
    assert_eq!(keys.len(), 3);
    for ((id, key), n) in keys.iter().zip(1..) {
        assert_eq!(*id, account_id(n));
        assert!(same_key(key, &wrapped(n)), "key of account {n}");
    }

    let rewrapped = WrappedKey {
        master_version: 2,
        bytes: vec![0xAB; 60],
    };
    store
        .accounts
        .replace_data_key(account_id(2), &rewrapped)
        .await
        .unwrap();
    let got = store
        .accounts
        .data_key(account_id(2))
        .await
        .unwrap()
        .unwrap();
    assert!(same_key(&got, &rewrapped));
    let mut keys = store.accounts.all_data_keys().await.unwrap();
    keys.sort_by_key(|(id, _)| *id);
    let versions: Vec<u32> = keys.iter().map(|(_, k)| k.master_version).collect();
    assert_eq!(versions, vec![1, 2, 1]);
    assert!(same_key(&keys[0].1, &wrapped(1)));
    assert!(same_key(&keys[2].1, &wrapped(3)));
}
