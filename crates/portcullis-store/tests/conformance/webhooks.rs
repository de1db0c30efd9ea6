//! [`WebhookRepo`](portcullis_store::repo::WebhookRepo) and
//! [`AccountChangeRepo`](portcullis_store::repo::AccountChangeRepo): subscriptions, events
//! written with their change, fan-out by event type, in-order leases per account, retries,
//! giving up and erasing payloads.

use portcullis_core::ids::AccountId;
use portcullis_store::Store;
use portcullis_store::model::{AccountEvent, AccountStatus, WebhookRecord};

use crate::fixtures::{T0, account, create_account, race, wrapped};
use crate::support::TestDb;

const CREATED: (&str, i64) = ("account.created", 1);
const VERIFIED: (&str, i64) = ("account.verified", 2);
const UPDATED: (&str, i64) = ("account.updated", 4);
const DISABLED: (&str, i64) = ("account.disabled", 8);
const DELETED: (&str, i64) = ("account.deleted", 16);

fn hook(id: &str, events: i64) -> WebhookRecord {
    WebhookRecord {
        id: id.to_owned(),
        url: format!("https://hooks.example/{id}"),
        description: Some(format!("hook {id}")),
        events,
        secret_sealed: vec![0x5E; 48],
        previous_secret_sealed: None,
        previous_until: None,
        created_at: T0,
        updated_at: T0,
    }
}

fn event(
    id: &str,
    account: AccountId,
    (event_type, bit): (&'static str, i64),
    at: i64,
) -> AccountEvent {
    AccountEvent {
        id: id.to_owned(),
        account,
        event_type,
        bit,
        payload_sealed: format!("sealed {id}").into_bytes(),
        at,
    }
}

/// `(event id, account)` of what a claim returned, in order.
fn ids(claimed: &[portcullis_store::model::Delivery]) -> Vec<String> {
    claimed
        .iter()
        .map(|d| format!("{}:{}", d.webhook_id, d.event_id))
        .collect()
}

pub async fn subscriptions_are_stored_rotated_and_removed(store: Store) {
    let w = &store.webhooks;
    w.create(&hook("wh_a", 31)).await.unwrap();
    w.create(&hook("wh_b", 1)).await.unwrap();
    assert!(
        w.create(&hook("wh_a", 1)).await.is_err(),
        "a taken id is refused"
    );
    assert_eq!(w.get("wh_a").await.unwrap(), Some(hook("wh_a", 31)));
    assert_eq!(w.get("nope").await.unwrap(), None);
    let listed: Vec<_> = w.list().await.unwrap().into_iter().map(|h| h.id).collect();
    assert_eq!(listed, ["wh_a", "wh_b"]);

    assert!(
        w.rotate_secret("wh_a", &[1; 48], &[0x5E; 48], T0 + 100, T0 + 1)
            .await
            .unwrap()
    );
    let rotated = w.get("wh_a").await.unwrap().unwrap();
    assert_eq!(rotated.secret_sealed, vec![1; 48]);
    assert_eq!(rotated.previous_secret_sealed, Some(vec![0x5E; 48]));
    assert_eq!(rotated.previous_until, Some(T0 + 100));
    assert_eq!(rotated.updated_at, T0 + 1);
    assert!(
        !w.rotate_secret("nope", &[1; 48], &[2; 48], T0, T0)
            .await
            .unwrap()
    );

    assert!(w.delete("wh_b").await.unwrap());
    assert!(!w.delete("wh_b").await.unwrap());
    assert_eq!(w.list().await.unwrap().len(), 1);
}

pub async fn events_are_written_with_their_change_and_fanned_out_by_type(store: Store) {
    store.webhooks.create(&hook("wh_all", 31)).await.unwrap();
    store
        .webhooks
        .create(&hook("wh_created", CREATED.1))
        .await
        .unwrap();
    let a = account(1);
    store
        .account_changes
        .create_with_event(&a, &wrapped(1), &event("msg_1", a.id, CREATED, T0))
        .await
        .unwrap();
    assert!(store.accounts.get(a.id).await.unwrap().is_some());
    // A conflicting create writes neither the account nor its event.
    let mut twin = account(2);
    twin.email_index = a.email_index.clone();
    assert!(
        store
            .account_changes
            .create_with_event(&twin, &wrapped(2), &event("msg_twin", twin.id, CREATED, T0))
            .await
            .is_err()
    );
    assert!(store.accounts.get(twin.id).await.unwrap().is_none());

    // A change that does not happen writes no event.
    assert!(
        store
            .account_changes
            .mark_verified_with_event(a.id, T0 + 1, &event("msg_2", a.id, VERIFIED, T0 + 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .account_changes
            .mark_verified_with_event(a.id, T0 + 2, &event("msg_2b", a.id, VERIFIED, T0 + 2))
            .await
            .unwrap()
    );
    assert!(
        store
            .account_changes
            .set_roles_with_event(
                a.id,
                &["admin".into()],
                T0 + 3,
                &event("msg_3", a.id, UPDATED, T0 + 3)
            )
            .await
            .unwrap()
    );
    let mut changed = store.accounts.get(a.id).await.unwrap().unwrap();
    changed.display_name_ct = Some(vec![7, 7]);
    store
        .account_changes
        .update_pii_with_event(&changed, T0 + 4, &event("msg_4", a.id, UPDATED, T0 + 4))
        .await
        .unwrap();
    assert!(
        store
            .account_changes
            .set_status_with_event(
                a.id,
                AccountStatus::Disabled,
                T0 + 5,
                &event("msg_5", a.id, DISABLED, T0 + 5)
            )
            .await
            .unwrap()
    );
    store
        .account_changes
        .shred_with_event(a.id, T0 + 6, &event("msg_6", a.id, DELETED, T0 + 6))
        .await
        .unwrap();
    assert!(
        !store
            .account_changes
            .set_status_with_event(
                a.id,
                AccountStatus::Active,
                T0 + 7,
                &event("msg_7", a.id, UPDATED, T0 + 7)
            )
            .await
            .unwrap()
    );
    let after = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(after.status, AccountStatus::Deleted);
    assert_eq!(
        store.accounts.data_key(a.id).await.unwrap().map(|_| ()),
        None
    );

    // wh_all gets every event in order, wh_created only the creation.
    let mut seen = Vec::new();
    loop {
        let claimed = store
            .webhooks
            .claim_due(T0 + 10, T0 + 70, 10)
            .await
            .unwrap();
        if claimed.is_empty() {
            break;
        }
        for d in &claimed {
            assert_eq!(d.account, a.id);
            assert_eq!(
                d.payload_sealed,
                format!("sealed {}", d.event_id).into_bytes()
            );
            assert_eq!(d.url, format!("https://hooks.example/{}", d.webhook_id));
            store
                .webhooks
                .mark_delivered(d.id, 204, T0 + 10)
                .await
                .unwrap();
        }
        seen.extend(ids(&claimed));
    }
    let all: Vec<_> = seen
        .iter()
        .filter(|s| s.starts_with("wh_all:"))
        .cloned()
        .collect();
    assert_eq!(
        all,
        [
            "wh_all:msg_1",
            "wh_all:msg_2",
            "wh_all:msg_3",
            "wh_all:msg_4",
            "wh_all:msg_5",
            "wh_all:msg_6"
        ]
    );
    let created: Vec<_> = seen
        .iter()
        .filter(|s| s.starts_with("wh_created:"))
        .cloned()
        .collect();
    assert_eq!(created, ["wh_created:msg_1"]);
    let counts = store.webhooks.counts("wh_all").await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.failed), (0, 6, 0));
    assert_eq!(store.webhooks.backlog().await.unwrap(), 0);
}

pub async fn one_account_in_order_others_side_by_side(store: Store) {
    store.webhooks.create(&hook("wh", 31)).await.unwrap();
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let ch = &store.account_changes;
    ch.set_roles_with_event(a.id, &[], T0, &event("a1", a.id, UPDATED, T0))
        .await
        .unwrap();
    ch.set_roles_with_event(b.id, &[], T0, &event("b1", b.id, UPDATED, T0))
        .await
        .unwrap();
    ch.set_roles_with_event(a.id, &["x".into()], T0, &event("a2", a.id, UPDATED, T0))
        .await
        .unwrap();
    ch.set_roles_with_event(b.id, &["x".into()], T0, &event("b2", b.id, UPDATED, T0))
        .await
        .unwrap();
    assert_eq!(store.webhooks.backlog().await.unwrap(), 4);

    // Only the first of each account is due; leased, they are nobody else's.
    let first = store.webhooks.claim_due(T0, T0 + 60, 10).await.unwrap();
    assert_eq!(ids(&first), ["wh:a1", "wh:b1"]);
    assert!(first.iter().all(|d| d.attempts == 1));
    assert!(
        store
            .webhooks
            .claim_due(T0 + 1, T0 + 61, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // a1 fails and waits; b1 is delivered, so b2 is due, a2 still waits behind a1.
    store
        .webhooks
        .mark_retry(first[0].id, Some(503), "HTTP 503", T0 + 30)
        .await
        .unwrap();
    store
        .webhooks
        .mark_delivered(first[1].id, 200, T0 + 1)
        .await
        .unwrap();
    let b2 = store.webhooks.claim_due(T0 + 2, T0 + 62, 10).await.unwrap();
    assert_eq!(ids(&b2), ["wh:b2"]);
    store
        .webhooks
        .mark_delivered(b2[0].id, 200, T0 + 3)
        .await
        .unwrap();
    assert!(
        store
            .webhooks
            .claim_due(T0 + 29, T0 + 89, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // At its retry time a1 comes back with its second attempt; given up, a2 goes on.
    let again = store
        .webhooks
        .claim_due(T0 + 30, T0 + 90, 10)
        .await
        .unwrap();
    assert_eq!(ids(&again), ["wh:a1"]);
    assert_eq!(again[0].attempts, 2);
    store
        .webhooks
        .mark_failed(again[0].id, Some(500), "HTTP 500", T0 + 31)
        .await
        .unwrap();
    let next = store
        .webhooks
        .claim_due(T0 + 31, T0 + 91, 10)
        .await
        .unwrap();
    assert_eq!(ids(&next), ["wh:a2"]);

    // A lease that runs out (a node died) hands the delivery to another worker.
    assert!(
        store
            .webhooks
            .claim_due(T0 + 90, T0 + 150, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken_over = store
        .webhooks
        .claim_due(T0 + 91, T0 + 151, 10)
        .await
        .unwrap();
    assert_eq!(ids(&taken_over), ["wh:a2"]);
    assert_eq!(taken_over[0].attempts, 2);

    let listed = store.webhooks.deliveries("wh", 10).await.unwrap();
    let a1 = listed.iter().find(|d| d.event_id == "a1").unwrap();
    assert_eq!(
        (a1.state.as_str(), a1.attempts, a1.last_status),
        ("failed", 2, Some(500))
    );
    assert_eq!(a1.last_error.as_deref(), Some("HTTP 500"));
    let counts = store.webhooks.counts("wh").await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.failed), (1, 2, 1));
}

pub async fn concurrent_claims_hand_out_each_delivery_once(store: Store) {
    store.webhooks.create(&hook("wh", 31)).await.unwrap();
    for n in 1..=12u8 {
        let a = create_account(&store, n).await;
        store
            .account_changes
            .set_roles_with_event(a.id, &[], T0, &event(&format!("e{n}"), a.id, UPDATED, T0))
            .await
            .unwrap();
    }
    let results = race(6, |_| {
        let store = store.clone();
        async move { store.webhooks.claim_due(T0, T0 + 60, 4).await.unwrap() }
    })
    .await;
    let mut all: Vec<String> = results.iter().flat_map(|c| ids(c)).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a delivery was handed out twice");
    assert_eq!(n, 12);
}

pub async fn payloads_are_erased_once_nothing_waits_for_them(store: Store, db: &TestDb) {
    let store = &store;
    store.webhooks.create(&hook("wh_1", 31)).await.unwrap();
    store.webhooks.create(&hook("wh_2", 31)).await.unwrap();
    let a = create_account(store, 1).await;
    store
        .account_changes
        .set_roles_with_event(a.id, &[], T0, &event("msg_e", a.id, UPDATED, T0))
        .await
        .unwrap();
    let payload = "SELECT payload FROM webhook_events WHERE id = $1";
    let claimed = store.webhooks.claim_due(T0, T0 + 60, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    store
        .webhooks
        .mark_delivered(claimed[0].id, 200, T0)
        .await
        .unwrap();
    assert_eq!(
        db.raw_bytes(payload, "msg_e").await,
        Some(b"sealed msg_e".to_vec()),
        "one delivery still waits"
    );
    store
        .webhooks
        .mark_failed(claimed[1].id, None, "connection refused", T0)
        .await
        .unwrap();
    assert_eq!(db.raw_bytes(payload, "msg_e").await, Some(Vec::new()));

    // Removing a subscription erases what only it waited for.
    store
        .account_changes
        .set_roles_with_event(a.id, &["x".into()], T0, &event("msg_f", a.id, UPDATED, T0))
        .await
        .unwrap();
    assert!(store.webhooks.delete("wh_1").await.unwrap());
    assert_eq!(
        db.raw_bytes(payload, "msg_f").await,
        Some(b"sealed msg_f".to_vec())
    );
    assert!(store.webhooks.delete("wh_2").await.unwrap());
    assert_eq!(db.raw_bytes(payload, "msg_f").await, Some(Vec::new()));

    // With no subscription an event is not kept at all.
    store
        .account_changes
        .set_roles_with_event(a.id, &[], T0, &event("msg_g", a.id, UPDATED, T0))
        .await
        .unwrap();
    assert_eq!(db.raw_bytes(payload, "msg_g").await, None);
}
