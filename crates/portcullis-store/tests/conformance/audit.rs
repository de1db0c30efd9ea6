//! [`AuditRepo`](portcullis_store::repo::AuditRepo): the hash chain, serialised across writers.

use portcullis_core::audit;
use portcullis_store::Store;

use crate::fixtures::{T0, event, race};

pub async fn chain(store: Store) {
    assert_eq!(store.legacy_audit.head().await.unwrap(), None);
    let empty = store.legacy_audit.page(0, 100).await.unwrap();
    assert!(empty.is_empty());
    assert_eq!(audit::verify_chain(&empty, None), Ok(0));

    let mut appended = Vec::new();
    for i in 0..3 {
        appended.push(
            store
                .legacy_audit
                .append(T0 + i, event("login.succeeded", i))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        appended.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(appended[0].prev_hash, audit::GENESIS);
    assert_eq!(appended[1].prev_hash, appended[0].hash);
    assert_eq!(appended[2].prev_hash, appended[1].hash);

    let records = store.legacy_audit.page(0, 100).await.unwrap();
    assert_eq!(records, appended, "read back exactly as appended");
    let head = store.legacy_audit.head().await.unwrap();
    assert_eq!(head, Some((3, appended[2].hash)));
    assert_eq!(audit::verify_chain(&records, head), Ok(3));

    assert_eq!(
        store.legacy_audit.page(1, 1).await.unwrap(),
        vec![appended[1].clone()]
    );
    assert_eq!(
        store.legacy_audit.page(1, 100).await.unwrap(),
        appended[1..].to_vec()
    );
    assert!(store.legacy_audit.page(3, 100).await.unwrap().is_empty());
}

pub async fn concurrent_appends(store: Store) {
    for i in 0..3 {
        store
            .legacy_audit
            .append(T0 + i, event("setup", i))
            .await
            .unwrap();
    }
    let appended = race(20, |i| {
        let store = store.clone();
        async move {
            let event = event("session.refreshed", i as i64);
            store
                .legacy_audit
                .append(T0 + 100, event)
                .await
                .expect("no append may fail")
        }
    })
    .await;
    let mut seqs: Vec<i64> = appended.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (4..=23).collect::<Vec<_>>(),
        "every append got its own place"
    );

    let records = store.legacy_audit.page(0, 1000).await.unwrap();
    assert_eq!(records.len(), 23);
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=23).collect::<Vec<_>>()
    );
    let head = store.legacy_audit.head().await.unwrap();
    assert_eq!(head.map(|(seq, _)| seq), Some(23));
    assert_eq!(audit::verify_chain(&records, head), Ok(23));
}

pub async fn by_actor_returns_the_latest_in_order(store: Store) {
    for i in 0..5 {
        let mut e = event("login.succeeded", i);
        e.actor = Some(if i % 2 == 0 { "alice" } else { "bob" }.to_owned());
        store.legacy_audit.append(T0 + i, e).await.unwrap();
    }
    let alice = store.legacy_audit.by_actor("alice", 10).await.unwrap();
    assert_eq!(
        alice.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 3, 5]
    );
    let latest = store.legacy_audit.by_actor("alice", 2).await.unwrap();
    assert_eq!(latest.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 5]);
    assert!(
        store
            .legacy_audit
            .by_actor("carol", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
