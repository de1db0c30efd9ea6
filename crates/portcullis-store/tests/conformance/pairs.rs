//! [`PairRepo`](portcullis_store::repo::PairRepo): DualConfirm pairs.

use portcullis_store::Store;
use portcullis_store::StoreError;
use portcullis_store::model::{PairRecord, PairStatus};

use crate::fixtures::{T0, account_id, create_account};

pub fn pair(n: u8, advisor: u8, client: u8) -> PairRecord {
    PairRecord {
        id: format!("pair-{n}"),
        advisor: account_id(advisor),
        client: account_id(client),
        secret_sealed: vec![n; 60],
        status: PairStatus::Active,
        language: "en".into(),
        created_by: "cli".into(),
        created_at: T0 + i64::from(n),
        updated_at: T0 + i64::from(n),
        advisor_name_sealed: None,
        client_name_sealed: None,
    }
}

pub async fn each_side_sees_its_own_pairs(store: Store) {
    for n in 1..=4 {
        create_account(&store, n).await;
    }
    let a = pair(1, 1, 3);
    let b = pair(2, 1, 4);
    let c = pair(3, 2, 3);
    for p in [&a, &b, &c] {
        store.pairs.create(p).await.unwrap();
    }
    assert_eq!(store.pairs.get("pair-1").await.unwrap(), Some(a.clone()));
    assert_eq!(store.pairs.get("pair-9").await.unwrap(), None);
    assert_eq!(
        store.pairs.of_advisor(account_id(1)).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        store.pairs.of_client(account_id(3)).await.unwrap(),
        vec![a.clone(), c.clone()]
    );
    assert!(
        store
            .pairs
            .of_client(account_id(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.pairs.list().await.unwrap(), vec![a.clone(), b, c]);

    // One pair per advisor and client.
    let again = PairRecord {
        id: "pair-5".into(),
        ..a.clone()
    };
    assert!(matches!(
        store.pairs.create(&again).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn invitations_are_accepted_and_pairs_removed(store: Store) {
    create_account(&store, 1).await;
    create_account(&store, 2).await;
    let invited = PairRecord {
        status: PairStatus::Invited,
        ..pair(1, 1, 2)
    };
    store.pairs.create(&invited).await.unwrap();
    assert!(
        store
            .pairs
            .set_status("pair-1", PairStatus::Active, T0 + 50)
            .await
            .unwrap()
    );
    let got = store.pairs.get("pair-1").await.unwrap().unwrap();
    assert_eq!(got.status, PairStatus::Active);
    assert_eq!(got.updated_at, T0 + 50);
    assert_eq!(got.created_at, invited.created_at);
    assert!(
        !store
            .pairs
            .set_status("pair-9", PairStatus::Active, T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .pairs
            .set_language("pair-1", "fr", T0 + 60)
            .await
            .unwrap()
    );
    let got = store.pairs.get("pair-1").await.unwrap().unwrap();
    assert_eq!((got.language.as_str(), got.updated_at), ("fr", T0 + 60));
    assert!(store.pairs.delete("pair-1").await.unwrap());
    assert!(!store.pairs.delete("pair-1").await.unwrap());
    assert_eq!(store.pairs.get("pair-1").await.unwrap(), None);
}

pub async fn shredding_an_account_removes_its_pairs(store: Store) {
    for n in 1..=3 {
        create_account(&store, n).await;
    }
    store.pairs.create(&pair(1, 1, 2)).await.unwrap();
    store.pairs.create(&pair(2, 3, 2)).await.unwrap();
    store.accounts.shred(account_id(1), T0 + 10).await.unwrap();
    assert_eq!(store.pairs.get("pair-1").await.unwrap(), None);
    assert!(store.pairs.get("pair-2").await.unwrap().is_some());
}

pub async fn a_batch_lookup_tells_which_pairs_still_exist(store: Store) {
    for n in 1..=4 {
        create_account(&store, n).await;
    }
    store.pairs.create(&pair(1, 1, 2)).await.unwrap();
    store.pairs.create(&pair(2, 3, 4)).await.unwrap();
    assert!(store.pairs.existing(&[]).await.unwrap().is_empty());
    let mut found = store
        .pairs
        .existing(&["pair-2", "pair-9", "pair-1"])
        .await
        .unwrap();
    found.sort();
    assert_eq!(found, vec!["pair-1".to_owned(), "pair-2".to_owned()]);
    store.pairs.delete("pair-1").await.unwrap();
    // More ids than one statement takes: every batch is looked up.
    let many: Vec<String> = (0..1_200).map(|n| format!("gone-{n}")).collect();
    let mut ids: Vec<&str> = many.iter().map(String::as_str).collect();
    ids.push("pair-1");
    ids.push("pair-2");
    assert_eq!(
        store.pairs.existing(&ids).await.unwrap(),
        vec!["pair-2".to_owned()]
    );
}
