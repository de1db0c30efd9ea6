//! [`EmailTokenRepo`](portcullis_store::repo::EmailTokenRepo): single-use, purpose-bound, expiring.

use portcullis_store::Store;

use crate::fixtures::{T0, create_account, race, token};

pub async fn single_use(store: Store) {
    let a = create_account(&store, 1).await;
    let tokens = &store.email_tokens;
    tokens
        .insert(&token(1), a.id, "verify", T0, T0 + 100)
        .await
        .unwrap();

    assert_eq!(
        tokens.consume(&token(1), "reset", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(9), "verify", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 2).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 3).await.unwrap(),
        None
    );

    // Expired: at its expiry instant and after.
    tokens
        .insert(&token(2), a.id, "verify", T0, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 10).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 11).await.unwrap(),
        None
    );
    tokens
        .insert(&token(3), a.id, "verify", T0, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        tokens.consume(&token(3), "verify", T0 + 9).await.unwrap(),
        Some(a.id)
    );
}

pub async fn invalidate(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let tokens = &store.email_tokens;
    for (n, account, purpose) in [
        (1, a.id, "verify"),
        (2, a.id, "verify"),
        (3, a.id, "reset"),
        (4, b.id, "verify"),
    ] {
        tokens
            .insert(&token(n), account, purpose, T0, T0 + 100)
            .await
            .unwrap();
    }
    tokens.invalidate(a.id, "verify", T0 + 1).await.unwrap();
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 2).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 2).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(3), "reset", T0 + 2).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.consume(&token(4), "verify", T0 + 2).await.unwrap(),
        Some(b.id)
    );
}

pub async fn concurrent_consume_once(store: Store) {
    let a = create_account(&store, 1).await;
    let tokens = &store.email_tokens;
    tokens
        .insert(&token(1), a.id, "reset", T0, T0 + 100)
        .await
        .unwrap();
    let spent = race(8, |_| {
        let store = store.clone();
        async move {
            let consumed = store.email_tokens.consume(&token(1), "reset", T0 + 1).await;
            consumed.expect("no consume may fail with an error")
        }
    })
    .await;
    assert_eq!(
        spent.iter().flatten().collect::<Vec<_>>(),
        vec![&a.id],
        "{spent:?}"
    );
}

pub async fn peek_does_not_spend(store: Store) {
    let a = create_account(&store, 1).await;
    let tokens = &store.email_tokens;
    tokens
        .insert(&token(1), a.id, "reset", T0, T0 + 100)
        .await
        .unwrap();
    assert_eq!(
        tokens.peek(&token(1), "reset", T0 + 1).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.peek(&token(1), "verify", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.peek(&token(1), "reset", T0 + 100).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        tokens.consume(&token(1), "reset", T0 + 2).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.peek(&token(1), "reset", T0 + 3).await.unwrap(),
        None,
        "spent"
    );
}

pub async fn shredding_spends_outstanding_tokens(store: Store) {
    let a = create_account(&store, 1).await;
    let tokens = &store.email_tokens;
    tokens
        .insert(&token(1), a.id, "reset", T0, T0 + 100)
        .await
        .unwrap();
    store.accounts.shred(a.id, T0 + 1).await.unwrap();
    assert_eq!(
        tokens.consume(&token(1), "reset", T0 + 2).await.unwrap(),
        None
    );
}
