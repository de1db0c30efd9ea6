//! The send cooldown (issue 11): unauthenticated requests that make us mail an address (a
//! forgotten password, a registration that finds the address taken) reach one recipient at
//! most three times per kind and window, through the real SMTP receiver, while every caller
//! gets exactly the answer it got before; other addresses are unaffected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Reply, TestApp, link_token, mails_to, strong_password, unique_email};

const FLOOD: usize = 10;
const BOUND: usize = 3;

async fn flood_app() -> TestApp {
    TestApp::builder()
        // The per-IP bound on unauthenticated requests would stop the flood first.
        .configure(|c| c.rate_limit.auth_per_ip_per_minute = 10_000)
        .spawn()
        .await
}

/// Waits until `to` has `BOUND` mails whose subject contains `subject`, then long enough for
/// any further one to arrive; returns them all.
async fn settled_mails(to: &str, subject: &str) -> Vec<support::Mail> {
    support::wait_for_mail(to, |_| {
        mails_to(to)
            .iter()
            .filter(|m| m.subject.contains(subject))
            .count()
            >= BOUND
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    mails_to(to)
        .into_iter()
        .filter(|m| m.subject.contains(subject))
        .collect()
}

/// What a caller can see of an answer: status, content type and body.
fn seen(reply: &Reply) -> (u16, Option<String>, String) {
    (
        reply.status.as_u16(),
        reply.header("content-type").map(str::to_owned),
        reply.text.clone(),
    )
}

async fn forgot(app: &TestApp, email: &str) -> Reply {
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgot_password_flood_mails_the_victim_at_most_three_times() {
    let app = flood_app().await;
    let password = strong_password();
    let victim = unique_email("victim");
    let bystander = unique_email("bystander");
    app.register_verified(&victim, &password).await;
    app.register_verified(&bystander, &password).await;

    let reference = seen(&forgot(&app, &unique_email("nobody")).await);
    assert_eq!(reference.0, 202);
    for _ in 0..FLOOD {
        assert_eq!(seen(&forgot(&app, &victim).await), reference);
    }
    let resets = settled_mails(&victim, "Reset your password").await;
    assert_eq!(
        resets.len(),
        BOUND,
        "{FLOOD} requests, at most {BOUND} mails"
    );

    // The dropped requests minted nothing: the newest link that went out still works. (Mails
    // sent within the same moment may reach the receiver in either order, so each is tried;
    // had a dropped request minted a newer link, none of them would work.)
    let mut worked = 0;
    for mail in resets.iter().rev() {
        let token = link_token(&mail.body, &app.base, "reset-password").unwrap();
        let reply = app
            .post(
                "/v1/password/reset",
                None,
                &json!({ "token": token, "new_password": strong_password() }),
            )
            .await;
        if reply.status.as_u16() == 204 {
            worked += 1;
            break;
        }
        reply.problem(400, Some("invalid-token"));
    }
    assert_eq!(worked, 1, "no mailed reset link works");

    // Another address is unaffected.
    assert_eq!(seen(&forgot(&app, &bystander).await), reference);
    app.wait_for_link(&bystander, "reset-password").await;

    // The suppression is counted and audited, never with the address.
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains("portcullis_messages_suppressed_total{kind=\"password_reset\"}"),
        "{metrics}"
    );
    let records = app
        .server()
        .state
        .ledgers()
        .audit
        .page(0, 10_000)
        .await
        .unwrap();
    let suppressed = records
        .iter()
        .filter(|r| r.event.event == "message.suppressed")
        .count();
    assert_eq!(suppressed, FLOOD - BOUND);
    assert!(!format!("{records:?}").contains(&victim));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_taken_address_tells_its_owner_at_most_three_times() {
    let app = flood_app().await;
    let victim = unique_email("taken");
    let bystander = unique_email("taken-too");
    app.register_verified(&victim, &strong_password()).await;
    app.register_verified(&bystander, &strong_password()).await;

    // Each answer looks like the one a free address gets: 201, a fresh id, `pending`.
    let shape = |reply: &Reply| -> (u16, Vec<String>, Value) {
        let body = reply.json();
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (reply.status.as_u16(), keys, body["status"].clone())
    };
    let free = app
        .register(&unique_email("free"), &strong_password())
        .await;
    let reference = shape(&free);
    assert_eq!(reference.0, 201);
    let mut ids = Vec::new();
    for _ in 0..FLOOD {
        let reply = app.register(&victim, &strong_password()).await;
        assert_eq!(shape(&reply), reference);
        ids.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), FLOOD, "every answer names a fresh id");

    let notices = settled_mails(&victim, "Someone tried to register").await;
    assert_eq!(
        notices.len(),
        BOUND,
        "{FLOOD} requests, at most {BOUND} mails"
    );

    // Another taken address still gets its notice.
    let reply = app.register(&bystander, &strong_password()).await;
    assert_eq!(shape(&reply), reference);
    support::wait_for_mail(&bystander, |m| {
        m.subject.contains("Someone tried to register")
    })
    .await;
}
