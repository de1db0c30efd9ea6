//! [`SessionRepo`](portcullis_store::repo::SessionRepo) without refresh tokens: liveness, activity, revocation.

use portcullis_core::ids::SessionId;
use portcullis_store::Store;
use portcullis_store::model::WalletBinding;

use crate::fixtures::{T0, account_id, create_account, create_session, session};

pub async fn create_get_list_live(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let now = T0 + 1000;
    let s1 = session(a.id, 1, T0 + 100, 3600, 7200);
    let mut s2 = session(a.id, 2, T0 + 200, 3600, 7200);
    let mut s3 = session(a.id, 3, T0 + 300, 3600, 7200);
    let revoked = session(a.id, 4, T0 + 400, 3600, 7200);
    let idle_expired = session(a.id, 5, T0 + 500, 500, 7200); // idle until exactly `now`
    let absolute_expired = session(a.id, 6, T0, 3600, 1000); // absolute until exactly `now`
    let other = session(b.id, 7, T0 + 600, 3600, 7200);
    let mut with_nones = session(a.id, 8, T0 + 50, 3600, 7200);
    with_nones.user_agent = None;
    with_nones.ip = None;
    with_nones.amr = vec!["pwd".to_owned(), "otp".to_owned()];
    with_nones.acr = "aal2".to_owned();
    // A wallet session's binding round-trips.
    s2.wallet = Some(WalletBinding {
        jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned()),
        address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".to_owned(),
        req_token: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_owned(),
    });
    // A browser's wallet session: no key thumbprint.
    s3.wallet = Some(WalletBinding {
        jkt: None,
        address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".to_owned(),
        req_token: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c".to_owned(),
    });
    let all = [
        &s1,
        &s2,
        &s3,
        &revoked,
        &idle_expired,
        &absolute_expired,
        &other,
        &with_nones,
    ];
    for (s, n) in all.into_iter().zip(1..) {
        create_session(&store, s, n).await;
    }
    for s in all {
        assert_eq!(store.sessions.get(s.id).await.unwrap().as_ref(), Some(s));
    }
    assert_eq!(
        store
            .sessions
            .get(SessionId::new(1, [0; 10]))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .sessions
            .revoke(revoked.id, "logout", T0 + 450)
            .await
            .unwrap()
    );

    let live = store.sessions.list_live(a.id, now).await.unwrap();
    assert_eq!(live, vec![s3.clone(), s2, s1, with_nones]);
    assert_eq!(
        store.sessions.list_live(b.id, now).await.unwrap(),
        vec![other]
    );
    assert!(
        store
            .sessions
            .list_live(account_id(9), now)
            .await
            .unwrap()
            .is_empty()
    );
    let earlier = store.sessions.list_live(a.id, now - 1).await.unwrap();
    assert_eq!(
        earlier.len(),
        6,
        "both expired sessions were still live a second earlier"
    );
}

pub async fn touch(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600); // idle T0+300, absolute T0+3600
    create_session(&store, &s, 1).await;

    store.sessions.touch(s.id, T0 + 100, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.last_seen_at, got.idle_expires_at),
        (T0 + 100, T0 + 400)
    );
    assert_eq!(got.absolute_expires_at, T0 + 3600);

    store.sessions.touch(s.id, T0 + 350, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(got.idle_expires_at, T0 + 650);

    // Never past the absolute expiry.
    store.sessions.touch(s.id, T0 + 600, 3300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.last_seen_at, got.idle_expires_at),
        (T0 + 600, T0 + 3600)
    );
    assert_eq!(got.absolute_expires_at, T0 + 3600);

    // A revoked session is not touched.
    let r = session(a.id, 2, T0, 300, 3600);
    create_session(&store, &r, 2).await;
    store
        .sessions
        .revoke(r.id, "logout", T0 + 10)
        .await
        .unwrap();
    store.sessions.touch(r.id, T0 + 20, 300).await.unwrap();
    let got = store.sessions.get(r.id).await.unwrap().unwrap();
    assert_eq!((got.last_seen_at, got.idle_expires_at), (T0, T0 + 300));
}

pub async fn revoke_and_revoke_all(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let s1 = session(a.id, 1, T0, 3600, 7200);
    let s2 = session(a.id, 2, T0 + 1, 3600, 7200);
    let s3 = session(a.id, 3, T0 + 2, 3600, 7200);
    let s4 = session(a.id, 4, T0 + 3, 3600, 7200);
    let sb = session(b.id, 5, T0 + 4, 3600, 7200);
    for (s, n) in [&s1, &s2, &s3, &s4, &sb].into_iter().zip(1..) {
        create_session(&store, s, n).await;
    }

    assert!(
        store
            .sessions
            .revoke(s1.id, "logout", T0 + 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .sessions
            .revoke(s1.id, "logout", T0 + 11)
            .await
            .unwrap()
    );
    assert_eq!(
        store.sessions.get(s1.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    let unknown = SessionId::new(1, [0; 10]);
    assert!(
        !store
            .sessions
            .revoke(unknown, "logout", T0 + 12)
            .await
            .unwrap()
    );

    let n = store
        .sessions
        .revoke_all(a.id, Some(s3.id), "password_changed", T0 + 20)
        .await;
    assert_eq!(
        n.unwrap(),
        2,
        "s2 and s4; s1 was already revoked, s3 is kept"
    );
    let live = store.sessions.list_live(a.id, T0 + 21).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s3.id]);
    assert_eq!(
        store.sessions.get(s1.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    assert_eq!(
        store.sessions.get(s2.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 20)
    );

    assert_eq!(
        store
            .sessions
            .revoke_all(a.id, None, "admin", T0 + 30)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .sessions
            .list_live(a.id, T0 + 31)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .sessions
            .revoke_all(a.id, None, "admin", T0 + 32)
            .await
            .unwrap(),
        0
    );
    // Another account's session is never touched.
    assert_eq!(
        store.sessions.get(sb.id).await.unwrap().unwrap().revoked_at,
        None
    );
}

pub async fn touch_never_revives_an_expired_session(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600); // idle T0+300
    create_session(&store, &s, 1).await;
    store.sessions.touch(s.id, T0 + 301, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(got.idle_expires_at, T0 + 300);
    assert!(!got.is_live(T0 + 301));
}

pub async fn elevate_only_live_sessions(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;
    let amr = vec!["pwd".to_owned(), "otp".to_owned()];
    assert!(
        store
            .sessions
            .elevate(s.id, "aal2", &amr, T0 + 10)
            .await
            .unwrap()
    );
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.acr.as_str(), got.amr.clone(), got.auth_time),
        ("aal2", amr.clone(), T0 + 10)
    );
    store
        .sessions
        .revoke(s.id, "logout", T0 + 20)
        .await
        .unwrap();
    assert!(
        !store
            .sessions
            .elevate(s.id, "aal2", &amr, T0 + 30)
            .await
            .unwrap()
    );
    // Past its idle expiry it cannot be elevated either.
    let idle = session(a.id, 2, T0, 300, 3600);
    create_session(&store, &idle, 2).await;
    assert!(
        !store
            .sessions
            .elevate(idle.id, "aal2", &amr, T0 + 301)
            .await
            .unwrap()
    );
}

pub async fn revoked_since_feeds_revocations_in_order(store: Store) {
    let a = create_account(&store, 1).await;
    let s1 = session(a.id, 1, T0, 3600, 7200);
    let s2 = session(a.id, 2, T0, 3600, 7200);
    let s3 = session(a.id, 3, T0, 3600, 7200);
    for (s, n) in [(&s1, 1), (&s2, 2), (&s3, 3)] {
        create_session(&store, s, n).await;
    }
    store
        .sessions
        .revoke(s2.id, "logout", T0 + 10)
        .await
        .unwrap();
    store
        .sessions
        .revoke(s1.id, "logout", T0 + 20)
        .await
        .unwrap();
    let all = store.sessions.revoked_since(T0, 100).await.unwrap();
    assert_eq!(all, vec![(s2.id, T0 + 10), (s1.id, T0 + 20)]);
    let later = store.sessions.revoked_since(T0 + 20, 100).await.unwrap();
    assert_eq!(
        later,
        vec![(s1.id, T0 + 20)],
        "the cursor second is included"
    );
    assert_eq!(store.sessions.revoked_since(T0, 1).await.unwrap().len(), 1);
    assert!(
        store
            .sessions
            .revoked_since(T0 + 21, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
