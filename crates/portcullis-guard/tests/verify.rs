//! The guard against a live JWKS endpoint: refusals, key refresh and its rate bound, the
//! verified-token cache and revocation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Issuer, MIN_REFRESH, NOW, claims};
use portcullis_core::token::{AccessClaims, TokenKeys};
use portcullis_guard::{GuardConfig, GuardError};

#[tokio::test]
async fn a_good_token_is_verified_once_then_served_from_the_cache() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard();
    let token = issuer.sign(&claims());
    let first = guard.verify(&token).await.unwrap();
    assert_eq!(first.claims(), &claims());
    let second = guard.verify(&token).await.unwrap();
    assert_eq!(second, first);
    let stats = guard.stats();
    assert_eq!((stats.signature_checks(), stats.cache_hits()), (1, 1));
    assert_eq!(stats.cached_tokens(), 1);
    assert_eq!(issuer.hits(), 1);
}

#[tokio::test]
async fn each_bad_token_is_refused_with_its_own_error() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard();
    let sign = |c: AccessClaims| issuer.sign(&c);
    let good = sign(claims());
    let kid = issuer.keys.read().unwrap().active_kid().to_owned();
    let (_, payload_sig) = good.split_once('.').unwrap();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let none = format!(
        "{}.{}",
        b64(&format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#)),
        payload_sig
    );
    let forged = {
        let admin = sign(AccessClaims {
            roles: vec!["admin".to_owned()],
            ..claims()
        });
        format!(
            "{}.{}",
            admin.rsplit_once('.').unwrap().0,
            good.rsplit_once('.').unwrap().1
        )
    };
    let cases = [
        ("malformed", "eyJ.garbage".to_owned(), GuardError::Malformed),
        ("oversized", "a".repeat(9 * 1024), GuardError::Oversized),
        ("alg none", none, GuardError::AlgNone),
        ("bad signature", forged, GuardError::BadSignature),
        (
            "expired",
            sign(AccessClaims {
                exp: NOW - 60,
                ..claims()
            }),
            GuardError::Expired,
        ),
        (
            "wrong audience",
            sign(AccessClaims {
                aud: "https://other.example".to_owned(),
                ..claims()
            }),
            GuardError::WrongAudience,
        ),
        (
            "wrong issuer",
            sign(AccessClaims {
                iss: "https://evil.example".to_owned(),
                ..claims()
            }),
            GuardError::WrongIssuer,
        ),
    ];
    for (name, token, want) in cases {
        assert_eq!(guard.verify(&token).await, Err(want), "{name}");
    }
    // Refusals are never cached.
    assert_eq!(guard.stats().cached_tokens(), 0);
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_key_set_at_most_once_per_interval() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard();
    guard.verify(&issuer.sign(&claims())).await.unwrap();
    assert_eq!(issuer.hits(), 1);

    // A rotation right after a fetch: the bound holds the refresh back.
    issuer.rotate(2);
    let rotated = issuer.sign(&claims());
    assert_eq!(guard.verify(&rotated).await, Err(GuardError::UnknownKey));
    assert_eq!(issuer.hits(), 1);

    // Once the interval has passed, the unknown kid triggers one fetch and verifies.
    tokio::time::sleep(MIN_REFRESH + MIN_REFRESH / 4).await;
    guard.verify(&rotated).await.unwrap();
    assert_eq!(issuer.hits(), 2);

    // A flood of forged kids after the interval costs one fetch in all.
    tokio::time::sleep(MIN_REFRESH + MIN_REFRESH / 4).await;
    let stranger = TokenKeys::generate([99; 32], NOW).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let token = stranger
            .sign(&AccessClaims {
                jti: format!("forged_{i}"),
                ..claims()
            })
            .unwrap();
        let guard = guard.clone();
        tasks.push(tokio::spawn(async move { guard.verify(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(GuardError::UnknownKey));
    }
    assert_eq!(issuer.hits(), 3);
    assert_eq!(guard.jwks().fetch_count(), 3);
}

#[tokio::test]
async fn a_stale_key_set_is_refreshed_on_use() {
    let issuer = Issuer::start().await;
    let config = issuer.config().refresh_interval(MIN_REFRESH);
    let guard = issuer.guard_with(config);
    let token = issuer.sign(&claims());
    guard.verify(&token).await.unwrap();
    tokio::time::sleep(MIN_REFRESH + MIN_REFRESH / 4).await;
    let other = issuer.sign(&AccessClaims {
        jti: "tok_2".to_owned(),
        ..claims()
    });
    guard.verify(&other).await.unwrap();
    assert_eq!(issuer.hits(), 2, "a stale set is re-fetched on use");
}

#[tokio::test]
async fn held_keys_stay_in_use_when_a_refresh_fails() {
    let issuer = Issuer::start().await;
    let config = issuer.config().refresh_interval(MIN_REFRESH);
    let guard = issuer.guard_with(config);
    guard.verify(&issuer.sign(&claims())).await.unwrap();
    issuer.fail();
    tokio::time::sleep(MIN_REFRESH + MIN_REFRESH / 4).await;
    let other = issuer.sign(&AccessClaims {
        jti: "tok_2".to_owned(),
        ..claims()
    });
    guard.verify(&other).await.unwrap();
    assert_eq!(issuer.hits(), 2, "the refresh was attempted");
}

#[tokio::test]
async fn no_key_set_means_unavailable_not_invalid() {
    let config = GuardConfig::new(common::ISS, common::AUD, "http://127.0.0.1:9/jwks.json");
    let guard = portcullis_guard::Guard::new(config).unwrap();
    let issuer_keys = TokenKeys::generate([1; 32], NOW).unwrap();
    let token = issuer_keys.sign(&claims()).unwrap();
    let err = guard.verify(&token).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard();
    let token = issuer.sign(&claims());
    guard.verify(&token).await.unwrap();
    issuer.advance(300 + 30);
    assert_eq!(guard.verify(&token).await, Err(GuardError::Expired));
    assert_eq!(guard.stats().cached_tokens(), 0);
}

#[tokio::test]
async fn a_revoked_session_refuses_cached_and_new_tokens() {
    let issuer = Issuer::start().await;
    let guard = issuer.guard();
    let cached = issuer.sign(&claims());
    guard.verify(&cached).await.unwrap();

    guard.revoke_session("sess_1");
    assert!(guard.is_session_revoked("sess_1"));
    assert_eq!(guard.verify(&cached).await, Err(GuardError::Revoked));
    let fresh = issuer.sign(&AccessClaims {
        jti: "tok_2".to_owned(),
        ..claims()
    });
    assert_eq!(guard.verify(&fresh).await, Err(GuardError::Revoked));

    let other_session = issuer.sign(&AccessClaims {
        jti: "tok_3".to_owned(),
        sid: "sess_2".to_owned(),
        ..claims()
    });
    assert!(guard.verify(&other_session).await.is_ok());
}
