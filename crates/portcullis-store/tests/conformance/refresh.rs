//! Refresh-token rotation: one rotation per token, reuse revokes the family, even under concurrency.

use portcullis_store::Store;
use portcullis_store::model::{RefreshOutcome, SessionRecord};

use crate::fixtures::{T0, create_account, create_session, race, session, token};

pub async fn rotation_and_reuse(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;
    let sessions = &store.sessions;

    let outcome = sessions
        .rotate_refresh(&token(1), &token(2), T0 + 100, 3000, T0 + 86_400)
        .await;
    let expected = SessionRecord {
        last_seen_at: T0 + 100,
        idle_expires_at: T0 + 3100,
        ..s.clone()
    };
    assert_eq!(outcome.unwrap(), RefreshOutcome::Rotated(expected.clone()));
    assert_eq!(sessions.get(s.id).await.unwrap(), Some(expected));

    // The idle expiry never passes the absolute one (T0 + 3600).
    let outcome = sessions
        .rotate_refresh(&token(2), &token(3), T0 + 3050, 1000, T0 + 86_400)
        .await;
    let RefreshOutcome::Rotated(rotated) = outcome.unwrap() else {
        panic!("second rotation should succeed");
    };
    assert_eq!(
        (rotated.last_seen_at, rotated.idle_expires_at),
        (T0 + 3050, T0 + 3600)
    );

    // Presenting a spent token again revokes the family.
    let outcome = sessions
        .rotate_refresh(&token(1), &token(4), T0 + 3060, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Reused(s.id));
    assert_eq!(
        sessions.get(s.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 3060)
    );
    assert!(
        sessions
            .list_live(a.id, T0 + 3061)
            .await
            .unwrap()
            .is_empty()
    );
    // The newest token of the family is dead too, and so is the one the thief tried to plant.
    let outcome = sessions
        .rotate_refresh(&token(3), &token(5), T0 + 3070, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let outcome = sessions
        .rotate_refresh(&token(4), &token(6), T0 + 3080, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(
        sessions.get(s.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 3060)
    );
}

pub async fn invalid_tokens(store: Store) {
    let a = create_account(&store, 1).await;
    let sessions = &store.sessions;
    let far = T0 + 86_400;

    let unknown = sessions
        .rotate_refresh(&token(99), &token(98), T0, 300, far)
        .await;
    assert_eq!(unknown.unwrap(), RefreshOutcome::Invalid);

    // An expired token is invalid (at its expiry instant) and is not mistaken for reuse.
    let s = session(a.id, 1, T0, 3600, 7200);
    sessions.create(&s, &token(1), T0 + 500).await.unwrap();
    let expired = sessions
        .rotate_refresh(&token(1), &token(2), T0 + 500, 300, far)
        .await;
    assert_eq!(expired.unwrap(), RefreshOutcome::Invalid);
    let again = sessions
        .rotate_refresh(&token(1), &token(3), T0 + 501, 300, far)
        .await;
    assert_eq!(again.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(sessions.get(s.id).await.unwrap().unwrap().revoked_at, None);
    let dead_new = sessions
        .rotate_refresh(&token(2), &token(4), T0 + 502, 300, far)
        .await;
    assert_eq!(
        dead_new.unwrap(),
        RefreshOutcome::Invalid,
        "no token was stored for it"
    );

    // A live token of a session that is no longer live is invalid.
    let idle = session(a.id, 2, T0, 300, 7200);
    create_session(&store, &idle, 10).await;
    let outcome = sessions
        .rotate_refresh(&token(10), &token(11), T0 + 300, 300, far)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let revoked = session(a.id, 3, T0, 3600, 7200);
    create_session(&store, &revoked, 20).await;
    sessions.revoke(revoked.id, "logout", T0 + 1).await.unwrap();
    let outcome = sessions
        .rotate_refresh(&token(20), &token(21), T0 + 2, 300, far)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let outcome = sessions
        .rotate_refresh(&token(21), &token(22), T0 + 3, 300, far)
        .await;
    assert_eq!(
        outcome.unwrap(),
        RefreshOutcome::Invalid,
        "no token was stored for it"
    );
}

pub async fn concurrent_presentation_rotates_once(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;

    let outcomes = race(8, |i| {
        let store = store.clone();
        async move {
            let new = token(100 + i as u8);
            store
                .sessions
                .rotate_refresh(&token(1), &new, T0 + 10, 300, T0 + 86_400)
                .await
                .expect("no presentation may fail with an error")
        }
    })
    .await;

    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "exactly one presentation rotates: {outcomes:?}");
    let reused = outcomes
        .iter()
        .filter(|o| **o == RefreshOutcome::Reused(s.id))
        .count();
    let invalid = outcomes
        .iter()
        .filter(|o| **o == RefreshOutcome::Invalid)
        .count();
    assert_eq!(rotated + reused + invalid, 8, "{outcomes:?}");
    if reused > 0 {
        let got = store.sessions.get(s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(T0 + 10), "a reuse revokes the family");
    }
}
