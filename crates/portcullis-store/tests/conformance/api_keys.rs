//! [`ApiKeyRepo`](portcullis_store::repo::ApiKeyRepo): API keys found by their hash, revoked
//! once, their use recorded at most once per interval.

use portcullis_core::ids::ApiKeyId;
use portcullis_store::Store;
use portcullis_store::StoreError;
use portcullis_store::model::ApiKeyRecord;

use crate::fixtures::{T0, token};

fn key_id(n: u8) -> ApiKeyId {
    ApiKeyId::new(T0 as u64 * 1000 + u64::from(n) * 1000, [n; 10])
}

fn key(n: u8, name: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: key_id(n),
        name: name.to_owned(),
        key_hash: token(120 + n),
        prefix: format!("pk_live_abc{n:03}"),
        scopes: vec!["wallets:read".into(), "wallets:sign".into()],
        origins: vec!["https://app.example.com".into()],
        rate_per_minute: Some(30),
        created_at: T0 + i64::from(n),
        revoked_at: None,
        last_used_at: None,
    }
}

pub async fn create_get_find_and_list(store: Store) {
    let a = key(1, "shop");
    let b = ApiKeyRecord {
        origins: Vec::new(),
        rate_per_minute: None,
        scopes: Vec::new(),
        ..key(2, "shop")
    };
    store.api_keys.create(&a).await.unwrap();
    // Names need not be unique: a replacement key is made before the old one is revoked.
    store.api_keys.create(&b).await.unwrap();
    assert_eq!(store.api_keys.get(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.api_keys.get(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.api_keys.get(key_id(9)).await.unwrap(), None);

    assert_eq!(
        store.api_keys.find_by_hash(&a.key_hash).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.api_keys.find_by_hash(&token(99)).await.unwrap(), None);
    assert_eq!(store.api_keys.list().await.unwrap(), vec![a.clone(), b]);

    // Ids and hashes are unique.
    let same_hash = ApiKeyRecord {
        id: key_id(3),
        ..a.clone()
    };
    assert!(matches!(
        store.api_keys.create(&same_hash).await,
        Err(StoreError::Conflict(_))
    ));
    let same_id = ApiKeyRecord {
        key_hash: token(7),
        ..a
    };
    assert!(matches!(
        store.api_keys.create(&same_id).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn revocation_is_kept_and_happens_once(store: Store) {
    let a = key(1, "shop");
    store.api_keys.create(&a).await.unwrap();
    assert!(store.api_keys.revoke(a.id, T0 + 50).await.unwrap());
    assert!(!store.api_keys.revoke(a.id, T0 + 60).await.unwrap());
    assert!(!store.api_keys.revoke(key_id(9), T0).await.unwrap());
    // Still found (the caller refuses it), with the first revocation time.
    let found = store
        .api_keys
        .find_by_hash(&a.key_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(T0 + 50));
    assert_eq!(store.api_keys.list().await.unwrap().len(), 1);
}

pub async fn use_is_recorded_once_per_interval(store: Store) {
    let a = key(1, "shop");
    store.api_keys.create(&a).await.unwrap();
    let last_used = |store: Store| async move {
        store
            .api_keys
            .get(key_id(1))
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    store
        .api_keys
        .record_use(a.id, T0 + 100, T0 + 40)
        .await
        .unwrap();
    assert_eq!(last_used(store.clone()).await, Some(T0 + 100));
    // Within the interval: kept.
    store
        .api_keys
        .record_use(a.id, T0 + 130, T0 + 70)
        .await
        .unwrap();
    assert_eq!(last_used(store.clone()).await, Some(T0 + 100));
    // After it: moved.
    store
        .api_keys
        .record_use(a.id, T0 + 200, T0 + 140)
        .await
        .unwrap();
    assert_eq!(last_used(store.clone()).await, Some(T0 + 200));
    // An unknown key is no error.
    store.api_keys.record_use(key_id(9), T0, T0).await.unwrap();
}
