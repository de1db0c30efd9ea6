//! [`ThrottleRepo`](portcullis_store::repo::ThrottleRepo): consecutive failures per key.

use portcullis_store::Store;

use crate::fixtures::{T0, race};

pub async fn counts_failures(store: Store) {
    let (k, other) = (b"index-of-alice".as_slice(), b"index-of-bob".as_slice());
    assert_eq!(store.throttle.get(k).await.unwrap(), None);
    for (i, expected) in [1, 2, 3].into_iter().enumerate() {
        let n = store
            .throttle
            .record_failure(k, T0 + i as i64)
            .await
            .unwrap();
        assert_eq!(n, expected);
    }
    assert_eq!(store.throttle.get(k).await.unwrap(), Some((3, T0 + 2)));
    assert_eq!(store.throttle.get(other).await.unwrap(), None);
    assert_eq!(
        store.throttle.record_failure(other, T0 + 5).await.unwrap(),
        1
    );

    store.throttle.clear(k).await.unwrap();
    assert_eq!(store.throttle.get(k).await.unwrap(), None);
    assert_eq!(store.throttle.get(other).await.unwrap(), Some((1, T0 + 5)));
    assert_eq!(store.throttle.record_failure(k, T0 + 10).await.unwrap(), 1);
    store.throttle.clear(b"never-seen").await.unwrap();
}

pub async fn concurrent_failures(store: Store) {
    let key = b"index-of-mallory".as_slice();
    let mut counts = race(10, |i| {
        let store = store.clone();
        async move {
            let at = T0 + i as i64;
            store
                .throttle
                .record_failure(key, at)
                .await
                .expect("no failure may be lost")
        }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<_>>(),
        "no two failures counted as one"
    );
    let (failures, _) = store.throttle.get(key).await.unwrap().unwrap();
    assert_eq!(failures, 10);
}
