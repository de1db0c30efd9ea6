//! The revocation feed against a stand-in Portcullis: it revokes what the feed lists, renews
//! its client-credentials token by the guard's clock, and gives up on a request after the
//! configured timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{Issuer, NOW};
use portcullis_guard::FeedAuth;
use serde_json::json;

/// How often the feed polls in these tests.
const INTERVAL: Duration = Duration::from_millis(50);
/// The lifetime of the stand-in's client-credentials tokens; renewed after half of it.
const TOKEN_LIFETIME_SECS: i64 = 100;

/// One poll as the feed endpoint saw it.
#[derive(Clone, Debug)]
struct Poll {
    token: String,
    since: i64,
}

/// A stand-in Portcullis: a token endpoint (`tok-1`, `tok-2`, …) and a feed that lists
/// session `sess_9` as revoked and records every poll.
struct Portcullis {
    base: String,
    token_requests: Arc<AtomicUsize>,
    polls: Arc<Mutex<Vec<Poll>>>,
}

impl Portcullis {
    async fn start() -> Self {
        let token_requests = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(Mutex::new(Vec::new()));
        let (issued, seen) = (Arc::clone(&token_requests), Arc::clone(&polls));
        let app = Router::new()
            .route(
                "/v1/oauth/token",
                post(move || async move {
                    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                    Json(json!({
                        "access_token": format!("tok-{n}"),
                        "token_type": "Bearer",
                        "expires_in": TOKEN_LIFETIME_SECS,
                    }))
                }),
            )
            .route(
                "/v1/revocations",
                get(
                    move |headers: HeaderMap, Query(query): Query<HashMap<String, i64>>| async move {
                        let token = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .unwrap_or_default()
                            .to_owned();
                        let since = query.get("since").copied().unwrap_or_default();
                        seen.lock().unwrap().push(Poll { token, since });
                        Json(json!({"revoked": [{"sid": "sess_9"}], "next_since": NOW}))
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base: format!("http://{addr}"),
            token_requests,
            polls,
        }
    }

    fn polls(&self) -> Vec<Poll> {
        self.polls.lock().unwrap().clone()
    }

    fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// Waits (at most 5 s) until the polls seen satisfy `done`.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Poll]) -> bool) -> Vec<Poll> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let polls = self.polls();
            if done(&polls) {
                return polls;
            }
            assert!(Instant::now() < deadline, "{what}: polls so far {polls:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn the_feed_renews_its_token_at_half_life_by_the_guards_clock() {
    let issuer = Issuer::start().await;
    let portcullis = Portcullis::start().await;
    let guard = issuer.guard();
    let feed = guard.spawn_revocation_feed(
        format!("{}/v1/revocations", portcullis.base),
        FeedAuth::client_credentials(
            format!("{}/v1/oauth/token", portcullis.base),
            "ledger",
            "s3cr3t",
        ),
        INTERVAL,
    );

    let polls = portcullis
        .wait_for("three polls", |p: &[Poll]| p.len() >= 3)
        .await;
    // The first poll reads back from the guard's `now`, not the system's.
    assert_eq!(polls[0].since, NOW - 3600);
    assert!(polls.iter().all(|p| p.token == "tok-1"), "{polls:?}");
    assert_eq!(portcullis.token_requests(), 1);
    assert!(guard.is_session_revoked("sess_9"));

    // Just short of half the lifetime by the guard's clock: the token is kept.
    issuer.advance(TOKEN_LIFETIME_SECS / 2 - 1);
    let seen = portcullis.polls().len();
    portcullis
        .wait_for("three more polls", |p: &[Poll]| p.len() >= seen + 3)
        .await;
    assert_eq!(portcullis.token_requests(), 1);

    // Half the lifetime has passed by the guard's clock (not by the system's): renewed.
    issuer.advance(1);
    portcullis
        .wait_for("a poll with the renewed token", |p: &[Poll]| {
            p.last().is_some_and(|p| p.token == "tok-2")
        })
        .await;
    assert_eq!(portcullis.token_requests(), 2);
    feed.abort();
}

#[tokio::test]
async fn a_feed_that_never_answers_fails_the_poll_after_the_configured_timeout() {
    let issuer = Issuer::start().await;
    // Accepts connections, reads nothing, answers nothing, and keeps them open.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let seen = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            seen.lock().unwrap().push(Instant::now());
            held.push(stream);
        }
    });
    let timeout = Duration::from_millis(300);
    let guard = issuer.guard_with(issuer.config().http_timeout(timeout));
    let feed = guard.spawn_revocation_feed(
        format!("http://{addr}/v1/revocations"),
        "fixed-token",
        INTERVAL,
    );

    // A poll that hung would never let the next one start.
    let deadline = Instant::now() + Duration::from_secs(5);
    let times = loop {
        let times = accepted.lock().unwrap().clone();
        if times.len() >= 2 {
            break times;
        }
        assert!(
            Instant::now() < deadline,
            "the poll did not give up: {} connection(s) in 5 s",
            times.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let gap = times[1] - times[0];
    assert!(
        gap >= timeout,
        "the first poll gave up after {gap:?}, before the timeout"
    );
    // Well before the 10 s the feed used to wait whatever the configuration said.
    assert!(
        gap < Duration::from_secs(3),
        "the first poll gave up only after {gap:?}"
    );
    feed.abort();
}
