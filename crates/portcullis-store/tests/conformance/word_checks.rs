//! [`WordCheckRepo`](portcullis_store::repo::WordCheckRepo): one bounded count per pair, side
//! and window, atomic under concurrency, and purged once expired.

use portcullis_store::Store;

use crate::fixtures::race;

const WINDOW: i64 = 28_333_333;
const EXPIRES: i64 = 1_700_000_120;

pub async fn counts_are_bounded_per_pair_side_and_window(store: Store) {
    let checks = &store.word_checks;
    for n in 1..=3 {
        let counted = checks.count("p", "client", WINDOW, 3, EXPIRES).await;
        assert_eq!(counted.unwrap(), Some(n));
    }
    let over = checks.count("p", "client", WINDOW, 3, EXPIRES).await;
    assert_eq!(over.unwrap(), None, "a fourth check is not counted");
    // The other side, the next window and another pair count apart.
    for (pair, side, window) in [
        ("p", "advisor", WINDOW),
        ("p", "client", WINDOW + 1),
        ("q", "client", WINDOW),
    ] {
        let counted = checks.count(pair, side, window, 3, EXPIRES).await;
        assert_eq!(counted.unwrap(), Some(1), "{pair} {side} {window}");
    }
    // A bound of zero counts nothing.
    let none = checks.count("r", "client", WINDOW, 0, EXPIRES).await;
    assert_eq!(none.unwrap(), None);

    // Expired counts go; the window's count starts again only then.
    assert_eq!(checks.purge_expired(EXPIRES - 1).await.unwrap(), 0);
    let still = checks.count("p", "client", WINDOW, 3, EXPIRES).await;
    assert_eq!(still.unwrap(), None);
    assert_eq!(checks.purge_expired(EXPIRES).await.unwrap(), 4);
    let again = checks.count("p", "client", WINDOW, 3, EXPIRES + 60).await;
    assert_eq!(again.unwrap(), Some(1));
}

pub async fn concurrent_checks_are_counted_up_to_the_bound(store: Store) {
    let results = race(20, |_| {
        let store = store.clone();
        async move {
            store
                .word_checks
                .count("p", "client", WINDOW, 5, EXPIRES)
                .await
                .unwrap()
        }
    })
    .await;
    let mut counted: Vec<i64> = results.iter().flatten().copied().collect();
    counted.sort_unstable();
    assert_eq!(counted, [1, 2, 3, 4, 5], "{results:?}");
}
