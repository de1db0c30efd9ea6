//! End-to-end: login challenges, session management, token lifetimes, single-purpose mail
//! tokens and profile changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, Tokens, link_token, strong_password, unique_email};

async fn start_challenge(app: &TestApp, email: &str) -> String {
    let reply = app
        .post("/v1/sessions", None, &json!({ "email": email }))
        .await;
    let body = reply.expect(202).json();
    assert_eq!(body["factors"], json!(["password"]), "{body}");
    body["challenge_id"]
        .as_str()
        .expect("challenge id")
        .to_owned()
}

async fn answer(app: &TestApp, id: &str, password: &str) -> support::Reply {
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({ "factor": "password", "password": password }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_complete_expire_and_run_out() {
    let app = TestApp::builder()
        .configure(|c| {
            c.login.free_failures = 100;
            c.login.challenge.max_failures = 3;
        })
        .spawn()
        .await;
    let email = unique_email("challenge");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;

    // Two steps: a challenge, then the password.
    let challenge = start_challenge(&app, &email).await;
    answer(&app, &challenge, &strong_password())
        .await
        .problem(401, Some("invalid-credentials"));
    let reply = answer(&app, &challenge, &password).await;
    let tokens = Tokens::from_json(&reply.expect(201).json());
    let me = app
        .get("/v1/me", Some(&tokens.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["id"], id.as_str());
    // A completed challenge cannot be answered again.
    answer(&app, &challenge, &password).await.problem(410, None);
    // A well-formed id that was never issued is gone too.
    let unknown = challenge
        .chars()
        .rev()
        .collect::<String>()
        .parse::<portcullis_core::ids::ChallengeId>()
        .map(|c| c.to_string());
    if let Ok(unknown) = unknown {
        let reply = answer(&app, &unknown, &password).await;
        assert!(
            [404, 410].contains(&reply.status.as_u16()),
            "{}",
            reply.text
        );
    }

    // Exhausted after max_failures wrong answers, even for the right password then.
    let challenge = start_challenge(&app, &email).await;
    for _ in 0..3 {
        answer(&app, &challenge, &strong_password())
            .await
            .problem(401, Some("invalid-credentials"));
    }
    answer(&app, &challenge, &password)
        .await
        .problem(410, Some("challenge-exhausted"));
    // A fresh challenge still works: exhaustion is not a lock-out.
    let challenge = start_challenge(&app, &email).await;
    answer(&app, &challenge, &password).await.expect(201);

    // An unknown address gets a challenge of the same shape that never completes.
    let challenge = start_challenge(&app, &unique_email("ghost")).await;
    answer(&app, &challenge, &password)
        .await
        .problem(401, Some("invalid-credentials"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_expire() {
    let app = TestApp::builder()
        .configure(|c| c.login.challenge.lifetime_secs = 1)
        .spawn()
        .await;
    let email = unique_email("expiry");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let challenge = start_challenge(&app, &email).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    answer(&app, &challenge, &password)
        .await
        .problem(410, Some("challenge-expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_ended() {
    let app = TestApp::spawn().await;
    let email = unique_email("sessions");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let a = app.login(&email, &password).await;
    let b = app.login(&email, &password).await;
    let c = app.login(&email, &password).await;

    let list = app.get("/v1/sessions", Some(&a.access)).await;
    let list = list.expect(200).json();
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for t in [&a, &b, &c] {
        assert!(ids.contains(&t.session_id.as_str()), "{list}");
    }
    let current: Vec<&Value> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current.len(), 1, "{list}");
    assert_eq!(current[0]["id"], a.session_id.as_str());

    // Ending one session from another.
    app.delete(
        &format!("/v1/sessions/{}", b.session_id),
        Some(&a.access),
        None,
    )
    .await
    .expect(204);
    app.get("/v1/me", Some(&b.access)).await.problem(401, None);
    app.refresh(&b.refresh).await.problem(401, None);
    app.get("/v1/me", Some(&c.access)).await.expect(200);

    // Someone else's session, or nonsense, is not found.
    let other_email = unique_email("other");
    app.register_verified(&other_email, &password).await;
    let other = app.login(&other_email, &password).await;
    app.delete(
        &format!("/v1/sessions/{}", other.session_id),
        Some(&a.access),
        None,
    )
    .await
    .problem(404, None);
    app.get("/v1/me", Some(&other.access)).await.expect(200);
    app.delete("/v1/sessions/nonsense", Some(&a.access), None)
        .await
        .problem(404, None);

    // Logging out everywhere ends every session, the caller's too.
    app.delete("/v1/sessions", Some(&c.access), None)
        .await
        .expect(204);
    for t in [&a, &c] {
        app.get("/v1/me", Some(&t.access)).await.problem(401, None);
        app.refresh(&t.refresh).await.problem(401, None);
    }
    app.get("/v1/me", Some(&other.access)).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_sessions_expire() {
    let app = TestApp::builder()
        .configure(|c| {
            c.tokens.access_ttl = Duration::from_secs(2);
            c.tokens.session_idle = Duration::from_secs(5);
            c.tokens.leeway = Duration::from_secs(0);
        })
        .spawn()
        .await;
    let email = unique_email("lifetime");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let reply = app.try_login(&email, &password).await;
    let body = reply.expect(201).json();
    assert_eq!(body["expires_in"], 2, "{body}");
    let tokens = Tokens::from_json(&body);
    app.get("/v1/me", Some(&tokens.access)).await.expect(200);

    // The access token dies on its own; the refresh token still works.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    app.get("/v1/me", Some(&tokens.access))
        .await
        .problem(401, None);
    let reply = app.refresh(&tokens.refresh).await;
    let fresh = Tokens::from_json(&reply.expect(200).json());
    app.get("/v1/me", Some(&fresh.access)).await.expect(200);

    // An idle session ends: its refresh token is refused once the idle time has passed.
    tokio::time::sleep(Duration::from_millis(6100)).await;
    app.refresh(&fresh.refresh).await.problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_tokens_serve_one_purpose_and_the_newest_wins() {
    let app = TestApp::spawn().await;
    let email = unique_email("purpose");
    let password = strong_password();
    app.register(&email, &password).await.expect(201);
    let verify = app.wait_for_link(&email, "verify-email").await;
    let verify_token = link_token(&verify.body, &app.base, "verify-email").unwrap();

    // A verification token does not reset a password.
    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": verify_token, "new_password": strong_password() }),
    )
    .await
    .problem(400, None);

    // Two reset requests: only the newest link works.
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
        .expect(202);
    let first = app.wait_for_link(&email, "reset-password").await;
    let first_token = link_token(&first.body, &app.base, "reset-password").unwrap();
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
        .expect(202);
    let base = app.base.clone();
    let second = support::wait_for_mail(&email, |m| {
        link_token(&m.body, &base, "reset-password").is_some_and(|t| t != first_token)
    })
    .await;
    let second_token = link_token(&second.body, &app.base, "reset-password").unwrap();

    // A reset token does not verify an address.
    app.post(
        "/v1/accounts/verify",
        None,
        &json!({ "token": second_token }),
    )
    .await
    .problem(400, None);
    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": first_token, "new_password": strong_password() }),
    )
    .await
    .problem(400, None);
    let new_password = strong_password();
    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": second_token, "new_password": new_password }),
    )
    .await
    .expect(204);
    // The reset proved the mailbox, so the account is active now.
    app.login(&email, &new_password).await;
    app.try_login(&email, &password).await.problem(401, None);

    // The mails name our sender and carry links to our public URL only.
    for m in [&verify, &first, &second] {
        assert_eq!(m.mail_from, "no-reply@localhost", "{m:?}");
        let head = m.raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            head.contains("From: Portcullis <no-reply@localhost>"),
            "{head}"
        );
        assert!(head.contains(&format!("To: {email}")), "{head}");
        // RFC 5322: Date is required, Message-ID expected.
        for field in ["Date: ", "Message-ID: ", "Subject: "] {
            assert!(
                head.to_ascii_lowercase()
                    .contains(&field.to_ascii_lowercase()),
                "no {field}in\n{head}"
            );
        }
        assert!(
            link_token(&m.body, &app.base, "verify-email").is_some()
                || link_token(&m.body, &app.base, "reset-password").is_some(),
            "{}",
            m.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_changes() {
    let app = TestApp::spawn().await;
    let email = unique_email("Profile.Mixed");
    let password = strong_password();
    // Addresses are case-insensitive: registered in mixed case, used in lower case.
    let shouted = email.to_uppercase();
    app.register(&shouted, &password).await.expect(201);
    app.verify_by_mail(&email.to_lowercase()).await;
    let tokens = app.login(&email.to_lowercase(), &password).await;
    app.login(&shouted, &password).await;

    let me = app
        .get("/v1/me", Some(&tokens.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["email"], email.to_lowercase().as_str(), "{me}");
    assert_eq!(me["display_name"], Value::Null, "{me}");

    let me = app
        .patch(
            "/v1/me",
            Some(&tokens.access),
            &json!({ "display_name": "  Émilie du Châtelet  ", "phone": "+33 1 23 45 67 89" }),
        )
        .await;
    let me = me.expect(200).json();
    assert_eq!(me["display_name"], "Émilie du Châtelet", "{me}");
    assert_eq!(me["phone"], "+33123456789", "{me}");

    // An absent field stays, null clears.
    let me = app
        .patch("/v1/me", Some(&tokens.access), &json!({ "phone": null }))
        .await;
    let me = me.expect(200).json();
    assert_eq!(me["display_name"], "Émilie du Châtelet", "{me}");
    assert_eq!(me["phone"], Value::Null, "{me}");
    let me = app
        .get("/v1/me", Some(&tokens.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["phone"], Value::Null, "{me}");

    // Invalid values and unknown fields are refused and change nothing.
    app.patch("/v1/me", Some(&tokens.access), &json!({ "phone": "555" }))
        .await
        .problem(400, Some("invalid-phone"));
    app.patch(
        "/v1/me",
        Some(&tokens.access),
        &json!({ "display_name": "a\u{202e}b" }),
    )
    .await
    .problem(400, Some("invalid-display-name"));
    let reply = app
        .patch(
            "/v1/me",
            Some(&tokens.access),
            &json!({ "email": "x@example.com" }),
        )
        .await;
    assert!(
        [400, 422].contains(&reply.status.as_u16()),
        "{}",
        reply.text
    );
    let reply = app
        .patch(
            "/v1/me",
            Some(&tokens.access),
            &json!({ "roles": ["admin"] }),
        )
        .await;
    assert!(
        [400, 422].contains(&reply.status.as_u16()),
        "{}",
        reply.text
    );
    let me = app
        .get("/v1/me", Some(&tokens.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["display_name"], "Émilie du Châtelet", "{me}");
    assert_eq!(me["roles"], json!([]), "{me}");
    app.patch("/v1/me", None, &json!({ "phone": null }))
        .await
        .problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_follow_the_account_on_refresh() {
    let app = TestApp::spawn().await;
    let email = unique_email("roles");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    app.get("/health/detailed", Some(&tokens.access))
        .await
        .problem(403, None);
    app.make_admin(&id).await;
    let reply = app.refresh(&tokens.refresh).await;
    let promoted = Tokens::from_json(&reply.expect(200).json());
    app.get("/health/detailed", Some(&promoted.access))
        .await
        .expect(200);
    // Demoted: the next refresh drops the role.
    let state = &app.server().state;
    state
        .store()
        .accounts
        .set_roles(id.parse().unwrap(), &[], state.now())
        .await
        .unwrap();
    let reply = app.refresh(&promoted.refresh).await;
    let demoted = Tokens::from_json(&reply.expect(200).json());
    app.get("/health/detailed", Some(&demoted.access))
        .await
        .problem(403, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_accounts_cannot_log_in_or_refresh() {
    let app = TestApp::spawn().await;
    let email = unique_email("disabled");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let state = &app.server().state;
    let changed = state
        .store()
        .accounts
        .set_status(
            id.parse().unwrap(),
            portcullis_store::model::AccountStatus::Disabled,
            state.now(),
        )
        .await
        .unwrap();
    assert!(changed);
    // The account's state is told only to someone who knows the password.
    app.try_login(&email, &strong_password())
        .await
        .problem(401, Some("invalid-credentials"));
    app.try_login(&email, &password)
        .await
        .problem(403, Some("forbidden"));
    // A refresh ends the session rather than extend it.
    app.refresh(&tokens.refresh).await.problem(401, None);
    app.get("/v1/me", Some(&tokens.access))
        .await
        .problem(401, None);
    // No reset mail for a disabled account.
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
        .expect(202);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !support::mails_to(&email)
            .iter()
            .any(|m| link_token(&m.body, &app.base, "reset-password").is_some()),
        "a disabled account was sent a reset link"
    );
}
