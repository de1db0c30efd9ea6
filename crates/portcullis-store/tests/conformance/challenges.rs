//! [`ChallengeRepo`](portcullis_store::repo::ChallengeRepo): optimistic versioning, expiry, and
//! attempts taken atomically before an answer is checked.

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
    first.webauthn = Some(serde_json::json!({ "ceremony": 1 }));
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
        mine.webauthn = Some(serde_json::json!(i));
        async move {
            (
                mine.webauthn.clone(),
                store.challenges.update(&mine, 0).await,
            )
        }
    })
    .await;
    let winners: Vec<Option<serde_json::Value>> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(w, _)| w.clone())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, r) in &results {
        assert!(matches!(r, Ok(()) | Err(StoreError::Concurrent)), "{r:?}");
    }
    let (stored, version) = store.challenges.get(c.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.webauthn, version),
        (winners[0].clone(), 1),
        "the winner's state is kept"
    );
}

pub async fn attempts_are_taken_before_answers_are_checked(store: Store) {
    let c = challenge(1, T0, 300);
    store.challenges.insert(&c).await.unwrap();
    // Twenty answers at once: five get an attempt, each a different one, the rest none.
    let results = race(20, |_| {
        let store = store.clone();
        async move { store.challenges.reserve_attempt(c.id, 5).await.unwrap() }
    })
    .await;
    let mut taken: Vec<u32> = results.iter().flatten().copied().collect();
    taken.sort_unstable();
    assert_eq!(taken, [1, 2, 3, 4, 5], "{results:?}");
    assert_eq!(
        store.challenges.reserve_attempt(c.id, 5).await.unwrap(),
        None
    );
    // Read back, the attempts are the challenge's failures, whatever its JSON said.
    let (stored, version) = store.challenges.get(c.id).await.unwrap().unwrap();
    assert_eq!((stored.failures, version), (5, 0));

    // A verified answer gives its attempt back; a write of the JSON leaves them alone.
    store.challenges.release_attempt(c.id).await.unwrap();
    let mut written = stored.clone();
    written.failures = 0;
    store.challenges.update(&written, 0).await.unwrap();
    let (stored, version) = store.challenges.get(c.id).await.unwrap().unwrap();
    assert_eq!((stored.failures, version), (4, 1));
    assert_eq!(
        store.challenges.reserve_attempt(c.id, 5).await.unwrap(),
        Some(5)
    );

    // Releasing never goes below zero; a challenge that is gone has no attempts to give.
    let fresh = challenge(2, T0, 300);
    store.challenges.insert(&fresh).await.unwrap();
    store.challenges.release_attempt(fresh.id).await.unwrap();
    let (stored, _) = store.challenges.get(fresh.id).await.unwrap().unwrap();
    assert_eq!(stored.failures, 0);
    store.challenges.delete(fresh.id).await.unwrap();
    assert_eq!(
        store.challenges.reserve_attempt(fresh.id, 5).await.unwrap(),
        None
    );

    // A challenge stored with failures starts from them.
    let mut failed = challenge(3, T0, 300);
    failed.failures = 2;
    store.challenges.insert(&failed).await.unwrap();
    assert_eq!(
        store
            .challenges
            .reserve_attempt(failed.id, 3)
            .await
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        store
            .challenges
            .reserve_attempt(failed.id, 3)
            .await
            .unwrap(),
        None
    );
}
