//! [`OtpRepo`](portcullis_store::repo::OtpRepo): single use, bounded attempts, expiry, and the
//! newest code replacing older ones.

use portcullis_store::Store;
use portcullis_store::model::OtpOutcome;

use crate::fixtures::{T0, create_account, race};

pub async fn single_use_bounded_attempts_and_expiry(store: Store) {
    let a = create_account(&store, 1).await;
    let otp = &store.otp;
    let (good, bad) = (vec![1u8; 32], vec![2u8; 32]);
    otp.issue("c1", a.id, "sms", "f1", &good, T0, T0 + 300)
        .await
        .unwrap();
    // Bound to its channel and target.
    assert_eq!(
        otp.check(a.id, "email", "f1", &good, T0 + 1, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );
    assert_eq!(
        otp.check(a.id, "sms", "f2", &good, T0 + 1, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );
    assert_eq!(
        otp.check(a.id, "sms", "f1", &bad, T0 + 1, 5).await.unwrap(),
        OtpOutcome::Wrong
    );
    assert_eq!(
        otp.check(a.id, "sms", "f1", &good, T0 + 2, 5)
            .await
            .unwrap(),
        OtpOutcome::Accepted
    );
    assert_eq!(
        otp.check(a.id, "sms", "f1", &good, T0 + 3, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode,
        "spent"
    );

    // Five wrong attempts kill a code, even for the right answer after.
    otp.issue("c2", a.id, "sms", "f1", &good, T0 + 10, T0 + 300)
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            otp.check(a.id, "sms", "f1", &bad, T0 + 11, 5)
                .await
                .unwrap(),
            OtpOutcome::Wrong
        );
    }
    assert_eq!(
        otp.check(a.id, "sms", "f1", &good, T0 + 12, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );

    // Expired at its expiry instant.
    otp.issue("c3", a.id, "email", "ch", &good, T0, T0 + 300)
        .await
        .unwrap();
    assert_eq!(
        otp.check(a.id, "email", "ch", &good, T0 + 300, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );

    // A new code replaces the live one.
    otp.issue("c4", a.id, "email", "ch2", &good, T0, T0 + 300)
        .await
        .unwrap();
    otp.issue("c5", a.id, "email", "ch2", &bad, T0 + 1, T0 + 300)
        .await
        .unwrap();
    assert_eq!(
        otp.check(a.id, "email", "ch2", &good, T0 + 2, 5)
            .await
            .unwrap(),
        OtpOutcome::Wrong
    );
    assert_eq!(
        otp.check(a.id, "email", "ch2", &bad, T0 + 2, 5)
            .await
            .unwrap(),
        OtpOutcome::Accepted
    );

    assert_eq!(otp.sent_since(a.id, "email", T0).await.unwrap(), 3);
    assert_eq!(otp.sent_since(a.id, "email", T0 + 1).await.unwrap(), 1);
    assert_eq!(otp.sent_since(a.id, "sms", T0).await.unwrap(), 2);
}

pub async fn a_code_is_accepted_once_under_concurrency(store: Store) {
    let a = create_account(&store, 1).await;
    store
        .otp
        .issue("c1", a.id, "sms", "t", &[7u8; 32], T0, T0 + 300)
        .await
        .unwrap();
    let s = store.clone();
    let id = a.id;
    let results = race(8, move |_| {
        let s = s.clone();
        async move {
            s.otp
                .check(id, "sms", "t", &[7u8; 32], T0 + 1, 5)
                .await
                .unwrap()
        }
    })
    .await;
    let accepted = results
        .iter()
        .filter(|o| **o == OtpOutcome::Accepted)
        .count();
    assert_eq!(accepted, 1, "{results:?}");
}

pub async fn concurrent_wrong_codes_are_compared_at_most_max_times(store: Store) {
    let a = create_account(&store, 1).await;
    let good = [7u8; 32];
    store
        .otp
        .issue("c1", a.id, "sms", "t", &good, T0, T0 + 300)
        .await
        .unwrap();
    let s = store.clone();
    let id = a.id;
    let results = race(20, move |i| {
        let s = s.clone();
        async move {
            // 100 + i: never the right code's bytes (7).
            let wrong = [100 + u8::try_from(i).unwrap(); 32];
            s.otp
                .check(id, "sms", "t", &wrong, T0 + 1, 5)
                .await
                .unwrap()
        }
    })
    .await;
    let wrong = results.iter().filter(|o| **o == OtpOutcome::Wrong).count();
    let dead = results
        .iter()
        .filter(|o| **o == OtpOutcome::NoLiveCode)
        .count();
    assert_eq!((wrong, dead), (5, 15), "{results:?}");
    // The bound is spent: the right code is not even compared.
    assert_eq!(
        store
            .otp
            .check(id, "sms", "t", &good, T0 + 2, 5)
            .await
            .unwrap(),
        OtpOutcome::NoLiveCode
    );

    // The last attempt may still be the right one.
    store
        .otp
        .issue("c2", a.id, "sms", "t", &good, T0 + 10, T0 + 300)
        .await
        .unwrap();
    for _ in 0..4 {
        let checked = store.otp.check(id, "sms", "t", &[1u8; 32], T0 + 11, 5);
        assert_eq!(checked.await.unwrap(), OtpOutcome::Wrong);
    }
    let checked = store.otp.check(id, "sms", "t", &good, T0 + 12, 5);
    assert_eq!(checked.await.unwrap(), OtpOutcome::Accepted);
}
