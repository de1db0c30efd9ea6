//! [`OutboxRepo`](portcullis_store::repo::OutboxRepo): leases, retries, giving up, erasing payloads.

use portcullis_store::Store;
use portcullis_store::model::OutboxItem;
use std::collections::BTreeSet;

use crate::fixtures::{T0, race};
use crate::support::TestDb;

pub async fn claims_and_retries(store: Store) {
    let outbox = &store.outbox;
    outbox.enqueue("m1", b"sealed-1", T0).await.unwrap();
    outbox.enqueue("m2", b"sealed-2", T0 + 1).await.unwrap();
    outbox
        .enqueue("later", b"sealed-3", T0 + 1000)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 3);
    assert!(
        outbox
            .claim_due(T0 - 1, T0 + 59, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let claimed = outbox.claim_due(T0 + 1, T0 + 61, 10).await.unwrap();
    let mut seen: Vec<_> = claimed
        .iter()
        .map(|m| (m.id.as_str(), m.payload.as_slice(), m.attempts))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("m1", b"sealed-1".as_slice(), 1),
            ("m2", b"sealed-2".as_slice(), 1)
        ]
    );
    // Leased: nobody else gets them before the lease ends.
    assert!(
        outbox
            .claim_due(T0 + 2, T0 + 62, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        outbox
            .claim_due(T0 + 60, T0 + 120, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // m1 failed and waits until T0 + 300; m2's lease runs out at T0 + 61.
    outbox
        .mark_failed("m1", T0 + 300, "smtp 451", false)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 3);
    let claimed = outbox.claim_due(T0 + 61, T0 + 121, 10).await.unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("m2".to_owned(), 2)]);
    assert_eq!(claimed[0].payload, b"sealed-2");
    // m2 is given up: never claimed again, not in the backlog.
    outbox
        .mark_failed("m2", T0 + 62, "smtp 550", true)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 2);

    assert!(
        outbox
            .claim_due(T0 + 299, T0 + 359, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = outbox.claim_due(T0 + 300, T0 + 360, 10).await.unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("m1".to_owned(), 2)]);
    assert_eq!(claimed[0].payload, b"sealed-1");
    // m1 is sent: the backlog shrinks.
    outbox.mark_sent("m1", T0 + 310).await.unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 1);

    // Far later only the message that was never due before is claimed, and a limit holds.
    let claimed = outbox
        .claim_due(T0 + 100_000, T0 + 100_060, 10)
        .await
        .unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("later".to_owned(), 1)]);
    outbox
        .enqueue("m4", b"sealed-4", T0 + 100_001)
        .await
        .unwrap();
    outbox
        .enqueue("m5", b"sealed-5", T0 + 100_002)
        .await
        .unwrap();
    let claimed = outbox
        .claim_due(T0 + 100_010, T0 + 100_070, 1)
        .await
        .unwrap();
    assert_eq!(
        ids_attempts(&claimed),
        vec![("m4".to_owned(), 1)],
        "oldest due first"
    );
}

fn ids_attempts(items: &[OutboxItem]) -> Vec<(String, i64)> {
    items.iter().map(|m| (m.id.clone(), m.attempts)).collect()
}

pub async fn erases_payloads(store: Store, db: &TestDb) {
    const PAYLOAD: &str = "SELECT payload FROM outbox WHERE id = $1";
    store
        .outbox
        .enqueue("sent", b"sealed-sent", T0)
        .await
        .unwrap();
    store
        .outbox
        .enqueue("dead", b"sealed-dead", T0)
        .await
        .unwrap();
    store
        .outbox
        .enqueue("retry", b"sealed-retry", T0)
        .await
        .unwrap();
    assert_eq!(
        db.raw_bytes(PAYLOAD, "sent").await,
        Some(b"sealed-sent".to_vec())
    );

    store.outbox.mark_sent("sent", T0 + 1).await.unwrap();
    store
        .outbox
        .mark_failed("dead", T0 + 2, "smtp 550", true)
        .await
        .unwrap();
    store
        .outbox
        .mark_failed("retry", T0 + 3, "smtp 451", false)
        .await
        .unwrap();
    assert_eq!(db.raw_bytes(PAYLOAD, "sent").await, Some(Vec::new()));
    assert_eq!(db.raw_bytes(PAYLOAD, "dead").await, Some(Vec::new()));
    assert_eq!(
        db.raw_bytes(PAYLOAD, "retry").await,
        Some(b"sealed-retry".to_vec())
    );
    assert_eq!(store.outbox.backlog().await.unwrap(), 1);
}

pub async fn concurrent_claims(store: Store) {
    let all: BTreeSet<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    for id in &all {
        store.outbox.enqueue(id, b"sealed", T0).await.unwrap();
    }
    // Eight workers poll at once: a message is handed to at most one of them.
    let batches = race(8, |_| {
        let store = store.clone();
        async move {
            let claimed = store.outbox.claim_due(T0 + 1, T0 + 61, 5).await;
            claimed.expect("no claim may fail with an error")
        }
    })
    .await;
    let mut claimed = BTreeSet::new();
    for item in batches.iter().flatten() {
        assert_eq!(item.attempts, 1, "{item:?}");
        assert!(
            claimed.insert(item.id.clone()),
            "{} was claimed twice",
            item.id
        );
    }
    // Whatever the race left is claimed by the next poll, and then nothing is left.
    let rest = store.outbox.claim_due(T0 + 2, T0 + 62, 100).await.unwrap();
    for item in &rest {
        assert!(
            claimed.insert(item.id.clone()),
            "{} was claimed twice",
            item.id
        );
    }
    assert_eq!(claimed, all);
    assert!(
        store
            .outbox
            .claim_due(T0 + 3, T0 + 63, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
