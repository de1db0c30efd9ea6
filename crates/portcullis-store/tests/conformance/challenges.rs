//! [`ChallengeRepo`](portcullis_store::repo::ChallengeRepo): optimistic versioning and expiry.

use portcullis_core::login::FactorKind;
use portcullis_store::{Store, StoreError};

use crate::fixtures::{T0, challenge, race};

pub async fn versioned_updates(store: Store) {
    let c = challenge(1, T0, 300);
    store.challenges.insert(&c).await.unwrap();
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((c.clone(), 0))
    );
    let dup = store.challenges.insert(&c).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");

    let mut first = c.clone();
    first
        .record(FactorKind::Password, false, T0 + 1)
        .unwrap_err();
    store.challenges.update(&first, 0).await.unwrap();
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((first.clone(), 1))
    );

    // A writer that read version 0 lost the race.
    let mut stale = c.clone();
    stale.record(FactorKind::Password, true, T0 + 2).unwrap();
    let err = store.challenges.update(&stale, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Concurrent), "{err:?}");
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((first.clone(), 1))
    );

    let mut second = first.clone();
    second.record(FactorKind::Password, true, T0 + 3).unwrap();
    store.challenges.update(&second, 1).await.unwrap();
    assert_eq!(store.challenges.get(c.id).await.unwrap(), Some((second, 2)));

    let missing = challenge(2, T0, 300);
    let err = store.challenges.update(&missing, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Concurrent), "{err:?}");

    store.challenges.delete(c.id).await.unwrap();
    assert_eq!(store.challenges.get(c.id).await.unwrap(), None);
    store.challenges.delete(c.id).await.unwrap();
}

pub async fn purge_expired(store: Store) {
    let soon = challenge(1, T0, 100);
    let later = challenge(2, T0, 500);
    let also_soon = challenge(3, T0 + 50, 50);
    for c in [&soon, &later, &also_soon] {
        store.challenges.insert(c).await.unwrap();
    }
    assert_eq!(store.challenges.purge_expired(T0 + 99).await.unwrap(), 0);
    assert_eq!(store.challenges.purge_expired(T0 + 100).await.unwrap(), 2);
    assert_eq!(store.challenges.get(soon.id).await.unwrap(), None);
    assert_eq!(store.challenges.get(also_soon.id).await.unwrap(), None);
    assert_eq!(
        store.challenges.get(later.id).await.unwrap(),
        Some((later.clone(), 0))
    );
    assert_eq!(store.challenges.purge_expired(T0 + 100).await.unwrap(), 0);
}

pub async fn concurrent_updates(store: Store) {
    let c = challenge(1, T0, 300);
    store.challenges.insert(&c).await.unwrap();
    // Eight writers read version 0 and each writes its own state: one wins, the rest learn.
    let results = race(8, |i| {
        let store = store.clone();
        let mut mine = c.clone();
        mine.failures = i as u32 + 1;
        async move { (mine.failures, store.challenges.update(&mine, 0).await) }
    })
    .await;
    let winners: Vec<u32> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, r) in &results {
        assert!(matches!(r, Ok(()) | Err(StoreError::Concurrent)), "{r:?}");
    }
    let (stored, version) = store.challenges.get(c.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.failures, version),
        (winners[0], 1),
        "the winner's state is kept"
    );
}
