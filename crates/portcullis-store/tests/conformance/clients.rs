//! [`ClientRepo`](portcullis_store::repo::ClientRepo): service accounts and the refresh-token
//! look-up that RFC 7009 revocation needs.

use portcullis_store::Store;
use portcullis_store::StoreError;
use portcullis_store::model::{ClientRecord, ClientStatus};

use crate::fixtures::{T0, create_account, create_session, session, token};

fn client(n: u8, name: &str) -> ClientRecord {
    ClientRecord {
        id: format!("client-{n}"),
        name: name.to_owned(),
        secret_hash: token(100 + n),
        scopes: vec!["ledger:read".into(), "ledger:write".into()],
        status: ClientStatus::Active,
        created_at: T0 + i64::from(n),
        updated_at: T0 + i64::from(n),
    }
}

pub async fn create_get_list_and_conflicts(store: Store) {
    let a = client(1, "billing");
    let b = client(2, "reports");
    store.clients.create(&a).await.unwrap();
    store.clients.create(&b).await.unwrap();
    assert_eq!(store.clients.get(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.clients.get("client-9").await.unwrap(), None);
    assert_eq!(store.clients.list().await.unwrap(), vec![a.clone(), b]);

    // Names and ids are unique.
    let same_name = ClientRecord {
        id: "client-3".into(),
        ..a.clone()
    };
    assert!(matches!(
        store.clients.create(&same_name).await,
        Err(StoreError::Conflict(_))
    ));
    let same_id = ClientRecord {
        name: "other".into(),
        ..a
    };
    assert!(matches!(
        store.clients.create(&same_id).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn rotate_disable_and_delete(store: Store) {
    let a = client(1, "billing");
    store.clients.create(&a).await.unwrap();

    assert!(
        store
            .clients
            .set_secret(&a.id, &token(7), T0 + 10)
            .await
            .unwrap()
    );
    let got = store.clients.get(&a.id).await.unwrap().unwrap();
    assert!(got.secret_hash.ct_eq(&token(7)));
    assert!(!got.secret_hash.ct_eq(&a.secret_hash));
    assert_eq!(got.updated_at, T0 + 10);
    assert!(
        !store
            .clients
            .set_secret("client-9", &token(7), T0)
            .await
            .unwrap()
    );

    assert!(
        store
            .clients
            .set_status(&a.id, ClientStatus::Disabled, T0 + 20)
            .await
            .unwrap()
    );
    let got = store.clients.get(&a.id).await.unwrap().unwrap();
    assert_eq!(got.status, ClientStatus::Disabled);
    assert!(
        !store
            .clients
            .set_status("client-9", ClientStatus::Active, T0)
            .await
            .unwrap()
    );

    assert!(store.clients.delete(&a.id).await.unwrap());
    assert!(!store.clients.delete(&a.id).await.unwrap());
    assert_eq!(store.clients.get(&a.id).await.unwrap(), None);
    // The name is free again.
    store.clients.create(&client(2, "billing")).await.unwrap();
}

pub async fn refresh_tokens_name_their_session(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;
    assert_eq!(
        store.clients.session_of_refresh(&token(1)).await.unwrap(),
        Some(s.id)
    );
    // A spent token still names its session (revoking by an old token ends the family).
    store
        .sessions
        .rotate_refresh(&token(1), &token(2), T0 + 10, 300, T0 + 3600)
        .await
        .unwrap();
    assert_eq!(
        store.clients.session_of_refresh(&token(1)).await.unwrap(),
        Some(s.id)
    );
    assert_eq!(
        store.clients.session_of_refresh(&token(2)).await.unwrap(),
        Some(s.id)
    );
    assert_eq!(
        store.clients.session_of_refresh(&token(50)).await.unwrap(),
        None
    );
}
