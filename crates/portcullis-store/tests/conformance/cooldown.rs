//! [`CooldownRepo`](portcullis_store::repo::CooldownRepo): messages per recipient and kind.

use portcullis_store::Store;

use crate::fixtures::{T0, race};

const WINDOW: i64 = 900;

pub async fn counts_per_recipient_and_kind_in_a_window(store: Store) {
    let (alice, bob) = (b"hash-of-alice".as_slice(), b"hash-of-bob".as_slice());
    let c = &store.cooldown;
    for (i, expected) in [1, 2, 3, 4].into_iter().enumerate() {
        let at = T0 + i as i64 * 100;
        assert_eq!(
            c.count_send(alice, "reset", at, WINDOW).await.unwrap(),
            expected
        );
    }
    // Another kind and another recipient have counts of their own.
    assert_eq!(
        c.count_send(alice, "verify", T0 + 300, WINDOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.count_send(bob, "reset", T0 + 300, WINDOW).await.unwrap(),
        1
    );
    // The window runs from its first message: still inside it, the count goes on…
    assert_eq!(
        c.count_send(alice, "reset", T0 + WINDOW - 1, WINDOW)
            .await
            .unwrap(),
        5
    );
    // …and once it has passed, the next message starts a new one.
    assert_eq!(
        c.count_send(alice, "reset", T0 + WINDOW, WINDOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.count_send(alice, "reset", T0 + WINDOW + 1, WINDOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        c.count_send(bob, "reset", T0 + 301, WINDOW).await.unwrap(),
        2
    );

    // Purging forgets the windows that started long enough ago, and only those.
    assert_eq!(c.purge_started_before(T0 + 300).await.unwrap(), 2);
    assert_eq!(
        c.count_send(bob, "reset", T0 + 302, WINDOW).await.unwrap(),
        1
    );
    assert_eq!(
        c.count_send(alice, "verify", T0 + 400, WINDOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.count_send(alice, "reset", T0 + WINDOW + 2, WINDOW)
            .await
            .unwrap(),
        3
    );
}

pub async fn concurrent_sends_are_each_counted(store: Store) {
    let recipient = b"hash-of-victim".as_slice();
    let mut counts = race(10, |_| {
        let store = store.clone();
        async move {
            store
                .cooldown
                .count_send(recipient, "taken", T0, WINDOW)
                .await
                .expect("no send may be lost")
        }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<_>>(),
        "no two sends counted as one"
    );
}
