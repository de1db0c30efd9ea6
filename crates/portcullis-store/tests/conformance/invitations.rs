//! [`InvitationRepo`](portcullis_store::repo::InvitationRepo): DualConfirm invitations, and
//! the pair look-ups the DualConfirm watch relies on (`standing`, `set_names`).

use portcullis_store::Store;
use portcullis_store::model::{AccountStatus, InvitationRecord, InvitationStatus};
use portcullis_store::repo::InvitationBounds;

use crate::fixtures::{T0, account_id, create_account, email_index};
use crate::pairs::pair;

fn invitation(n: u8, advisor: u8, to: u8, created: i64) -> InvitationRecord {
    InvitationRecord {
        id: format!("inv-{n}"),
        advisor: account_id(advisor),
        email_index: email_index(to),
        email_sealed: vec![n; 40],
        language: "en".into(),
        status: InvitationStatus::Pending,
        created_at: created,
        expires_at: created + 1000,
    }
}

pub async fn bounds_are_checked_by_the_insert(store: Store) {
    create_account(&store, 1).await;
    let bounds = InvitationBounds {
        max_pending: 2,
        max_recent: 3,
        since: T0 - 3600,
    };
    let repo = &store.invitations;
    assert!(
        repo.create(&invitation(1, 1, 5, T0), bounds, T0)
            .await
            .unwrap()
    );
    assert!(
        repo.create(&invitation(2, 1, 6, T0 + 1), bounds, T0 + 1)
            .await
            .unwrap()
    );
    // Two pending: the third waits for one to go.
    assert!(
        !repo
            .create(&invitation(3, 1, 7, T0 + 2), bounds, T0 + 2)
            .await
            .unwrap()
    );
    let counts = repo.counts(account_id(1), T0 - 3600, T0 + 2).await.unwrap();
    assert_eq!(
        (
            counts.pending,
            counts.first_expiry,
            counts.recent,
            counts.first_recent
        ),
        (2, Some(T0 + 1000), 2, Some(T0))
    );
    assert!(
        repo.close("inv-1", InvitationStatus::Cancelled)
            .await
            .unwrap()
    );
    assert!(
        repo.create(&invitation(3, 1, 7, T0 + 3), bounds, T0 + 3)
            .await
            .unwrap()
    );
    // Three sent in the period, cancelled or not: the rate refuses a fourth.
    assert!(
        repo.close("inv-2", InvitationStatus::Cancelled)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .create(&invitation(4, 1, 8, T0 + 4), bounds, T0 + 4)
            .await
            .unwrap()
    );
    // A new period: the rows that are done and older than it go, and there is room again.
    let later = InvitationBounds {
        since: T0 + 10,
        ..bounds
    };
    assert!(
        repo.create(&invitation(4, 1, 8, T0 + 20), later, T0 + 20)
            .await
            .unwrap()
    );
    assert_eq!(repo.get("inv-1").await.unwrap(), None);
    assert_eq!(
        repo.get("inv-3").await.unwrap().map(|i| i.status),
        Some(InvitationStatus::Pending)
    );
}

pub async fn the_invited_address_finds_them_and_one_close_wins(store: Store) {
    create_account(&store, 1).await;
    create_account(&store, 2).await;
    let bounds = InvitationBounds {
        max_pending: 10,
        max_recent: 10,
        since: T0 - 3600,
    };
    let repo = &store.invitations;
    let first = invitation(1, 1, 9, T0);
    repo.create(&first, bounds, T0).await.unwrap();
    repo.create(&invitation(2, 2, 9, T0 + 1), bounds, T0 + 1)
        .await
        .unwrap();
    repo.create(&invitation(3, 1, 8, T0 + 2), bounds, T0 + 2)
        .await
        .unwrap();
    let for_nine: Vec<String> = repo
        .pending_for(&email_index(9), T0 + 5)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(for_nine, ["inv-1", "inv-2"]);
    assert_eq!(
        repo.pending_of(account_id(1), T0 + 5).await.unwrap().len(),
        2
    );
    assert_eq!(repo.get("inv-1").await.unwrap(), Some(first));
    // Expired invitations are neither listed nor counted.
    let left = repo.pending_for(&email_index(9), T0 + 1000).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(
        repo.close("inv-1", InvitationStatus::Accepted)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .close("inv-1", InvitationStatus::Cancelled)
            .await
            .unwrap()
    );
    assert_eq!(
        repo.pending_of(account_id(1), T0 + 5).await.unwrap().len(),
        1
    );
    // Shredding the advisor removes its invitations.
    store.accounts.shred(account_id(1), T0 + 10).await.unwrap();
    assert_eq!(repo.get("inv-3").await.unwrap(), None);
}

pub async fn a_batch_tells_where_the_parties_of_pairs_stand_and_names_are_kept(store: Store) {
    for n in 1..=3 {
        create_account(&store, n).await;
    }
    let roles = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    store
        .accounts
        .set_roles(account_id(1), &roles(&["advisor", "admin"]), T0)
        .await
        .unwrap();
    store
        .accounts
        .set_roles(account_id(2), &roles(&["client"]), T0)
        .await
        .unwrap();
    store.pairs.create(&pair(1, 1, 2)).await.unwrap();
    store.pairs.create(&pair(2, 3, 2)).await.unwrap();
    assert!(store.pairs.standing(&[]).await.unwrap().is_empty());
    let mut found = store
        .pairs
        .standing(&["pair-2", "gone", "pair-1"])
        .await
        .unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].advisor.roles, roles(&["advisor", "admin"]));
    assert_eq!(found[0].advisor.status, AccountStatus::Pending);
    assert!(!found[0].advisor.holds("advisor"), "not active yet");
    assert_eq!(found[0].client.roles, roles(&["client"]));
    assert_eq!(found[1].advisor.roles, roles(&["user"]));
    assert!(!found[1].advisor.holds("advisor"));

    assert!(
        store
            .pairs
            .set_names("pair-1", Some(b"sealed-a"), None, T0 + 1)
            .await
            .unwrap()
    );
    let got = store.pairs.get("pair-1").await.unwrap().unwrap();
    assert_eq!(got.advisor_name_sealed.as_deref(), Some(&b"sealed-a"[..]));
    assert_eq!(got.client_name_sealed, None);
    assert!(!store.pairs.set_names("gone", None, None, T0).await.unwrap());
}
