//! End-to-end: the account life cycle over real HTTP against a server spawned on port 0, with
//! mail through the real SMTP receiver. The key flow runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{Backend, TestApp, Tokens, link_token, mails_to, strong_password, unique_email};

/// Register → verify by mail → login → profile → refresh → reuse detection → logout →
/// introspection.
async fn full_flow(backend: Backend) {
    let app = TestApp::builder().backend(backend).spawn().await;
    let email = unique_email("flow");
    let password = strong_password();

    // Registration answers 201 pending and mails a link.
    let reply = app
        .post(
            "/v1/accounts",
            None,
            &json!({ "email": email, "password": password, "display_name": "Ada Lovelace" }),
        )
        .await;
    let body = reply.expect(201).json();
    assert_eq!(body["status"], "pending", "{body}");
    let account_id = body["id"].as_str().expect("id").to_owned();

    // An unverified account with the right password is told to verify (403).
    app.try_login(&email, &password)
        .await
        .problem(403, Some("forbidden"));

    let mail = app.wait_for_link(&email, "verify-email").await;
    assert!(
        mail.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(&email)),
        "{mail:?}"
    );
    let token = link_token(&mail.body, &app.base, "verify-email").expect("verification token");
    app.post("/v1/accounts/verify", None, &json!({ "token": token }))
        .await
        .expect(204);
    // The link is single-use.
    app.post("/v1/accounts/verify", None, &json!({ "token": token }))
        .await
        .problem(400, None);

    // Login and profile.
    let first = app.login(&email, &password).await;
    let me = app.get("/v1/me", Some(&first.access)).await;
    let me = me.expect(200).json();
    assert_eq!(me["email"], email.as_str(), "{me}");
    assert_eq!(me["display_name"], "Ada Lovelace", "{me}");
    assert_eq!(me["id"], account_id.as_str(), "{me}");
    assert_eq!(me["status"], "active", "{me}");

    // Refresh: new tokens, same session.
    let reply = app.refresh(&first.refresh).await;
    let second = Tokens::from_json(&reply.expect(200).json());
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.session_id, first.session_id);
    app.get("/v1/me", Some(&second.access)).await.expect(200);

    // Presenting the spent refresh token again ends the whole session.
    app.refresh(&first.refresh)
        .await
        .problem(401, Some("unauthenticated"));
    app.refresh(&second.refresh)
        .await
        .problem(401, Some("unauthenticated"));
    let reply = app.get("/v1/me", Some(&second.access)).await;
    reply.problem(401, Some("unauthenticated"));
    assert!(reply.header("www-authenticate").is_some());

    // A new login works; logging out ends that session at once.
    let third = app.login(&email, &password).await;
    let fourth = app.login(&email, &password).await;
    assert_ne!(third.session_id, fourth.session_id);
    app.delete("/v1/sessions/current", Some(&third.access), None)
        .await
        .expect(204);
    app.get("/v1/me", Some(&third.access))
        .await
        .problem(401, None);
    app.refresh(&third.refresh).await.problem(401, None);

    // Introspection, called by a service.
    let service = app.service_caller().await;
    let reply = app.introspect(Some(&service), &third.access).await;
    assert_eq!(reply.expect(200).json(), json!({ "active": false }));
    let reply = app.introspect(Some(&service), &fourth.access).await;
    let info = reply.expect(200).json();
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], account_id.as_str(), "{info}");
    assert_eq!(info["sid"], fourth.session_id.as_str(), "{info}");
    assert_eq!(info["iss"], app.base.as_str(), "{info}");
    assert_eq!(info["aud"], "portcullis", "{info}");
    let reply = app.introspect(Some(&service), "not-a-token").await;
    assert_eq!(reply.expect(200).json(), json!({ "active": false }));
    // Introspection itself needs a live caller with a service or admin role: an ordinary
    // user cannot scan other people's tokens.
    app.introspect(None, &fourth.access)
        .await
        .problem(401, None);
    app.introspect(Some(&third.access), &fourth.access)
        .await
        .problem(401, None);
    app.introspect(Some(&fourth.access), &fourth.access)
        .await
        .problem(403, Some("forbidden"));

    // The session list shows the live session only, marked current.
    let list = app.get("/v1/sessions", Some(&fourth.access)).await;
    let list = list.expect(200).json();
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{list}");
    assert_eq!(sessions[0]["id"], fourth.session_id.as_str(), "{list}");
    assert_eq!(sessions[0]["current"], true, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_on_sqlite() {
    full_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_on_postgres() {
    full_flow(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let email = unique_email("change");
    let old = strong_password();
    let new = strong_password();
    app.register_verified(&email, &old).await;
    let here = app.login(&email, &old).await;
    let elsewhere = app.login(&email, &old).await;

    // Wrong current password: refused, nothing changes.
    app.post(
        "/v1/me/password",
        Some(&here.access),
        &json!({ "current_password": "not the password 123", "new_password": new }),
    )
    .await
    .problem(401, None);
    app.get("/v1/me", Some(&elsewhere.access)).await.expect(200);

    // A weak new password: 422 with the reason.
    let body = app
        .post(
            "/v1/me/password",
            Some(&here.access),
            &json!({ "current_password": old, "new_password": "short" }),
        )
        .await
        .problem(422, Some("weak-password"));
    assert_eq!(body["code"], "too_short", "{body}");

    app.post(
        "/v1/me/password",
        Some(&here.access),
        &json!({ "current_password": old, "new_password": new }),
    )
    .await
    .expect(204);

    // The other session is gone, access and refresh alike; this one lives on.
    app.get("/v1/me", Some(&elsewhere.access))
        .await
        .problem(401, None);
    app.refresh(&elsewhere.refresh).await.problem(401, None);
    app.get("/v1/me", Some(&here.access)).await.expect(200);

    app.try_login(&email, &old)
        .await
        .problem(401, Some("invalid-credentials"));
    app.login(&email, &new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgotten_password_is_reset_by_mail() {
    let app = TestApp::spawn().await;
    let email = unique_email("forgot");
    let unknown = unique_email("nobody");
    let old = strong_password();
    let new = strong_password();
    app.register_verified(&email, &old).await;
    let session = app.login(&email, &old).await;

    // Unknown, known and malformed addresses all get the same 202.
    let reply = app
        .post("/v1/password/forgot", None, &json!({ "email": unknown }))
        .await;
    reply.expect(202);
    let unknown_body = reply.text.clone();
    let reply = app
        .post("/v1/password/forgot", None, &json!({ "email": email }))
        .await;
    reply.expect(202);
    assert_eq!(reply.text, unknown_body);
    app.post(
        "/v1/password/forgot",
        None,
        &json!({ "email": "not-an-address" }),
    )
    .await
    .expect(202);

    let mail = app.wait_for_link(&email, "reset-password").await;
    let token = link_token(&mail.body, &app.base, "reset-password").expect("reset token");

    // A refused password leaves the token usable.
    let body = app
        .post(
            "/v1/password/reset",
            None,
            &json!({ "token": token, "new_password": "password" }),
        )
        .await
        .problem(422, Some("weak-password"));
    assert!(body["code"].is_string(), "{body}");

    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": token, "new_password": new }),
    )
    .await
    .expect(204);
    // Single use.
    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": token, "new_password": strong_password() }),
    )
    .await
    .problem(400, None);
    // Garbage token.
    app.post(
        "/v1/password/reset",
        None,
        &json!({ "token": "x".repeat(43), "new_password": strong_password() }),
    )
    .await
    .problem(400, None);

    // Every session ended; the old password is dead, the new one works.
    app.get("/v1/me", Some(&session.access))
        .await
        .problem(401, None);
    app.try_login(&email, &old)
        .await
        .problem(401, Some("invalid-credentials"));
    app.login(&email, &new).await;

    // The unknown address never got mail (its request was handled before the known one's,
    // whose mail has arrived; give stragglers a moment all the same).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        mails_to(&unknown).is_empty(),
        "mail was sent to an unregistered address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_registration_do_not_reveal_accounts() {
    let app = TestApp::spawn().await;
    let email = unique_email("known");
    let password = strong_password();
    app.register_verified(&email, &password).await;

    // Unknown e-mail and wrong password: the same status and the same body.
    let unknown = app
        .try_login(&unique_email("unknown"), &strong_password())
        .await;
    let wrong = app.try_login(&email, &strong_password()).await;
    unknown.problem(401, Some("invalid-credentials"));
    wrong.problem(401, Some("invalid-credentials"));
    assert_eq!(unknown.json(), wrong.json());
    assert_eq!(unknown.header("content-type"), wrong.header("content-type"));
    assert_eq!(
        unknown.header("www-authenticate"),
        wrong.header("www-authenticate")
    );

    // The same through the challenge: both get a 202 challenge of one shape, and the same
    // 401 for a wrong answer.
    let mut answers = Vec::new();
    for address in [unique_email("unknown"), email.clone()] {
        let reply = app
            .post("/v1/sessions", None, &json!({ "email": address }))
            .await;
        let pending = reply.expect(202).json();
        assert_eq!(pending["factors"], json!(["password"]), "{pending}");
        assert!(pending["expires_in"].as_i64().is_some_and(|n| n > 0));
        let keys: Vec<&String> = pending.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["challenge_id", "expires_in", "factors", "state"],
            "{pending}"
        );
        assert_eq!(pending["state"], "mfa_required", "{pending}");
        let id = pending["challenge_id"].as_str().expect("challenge id");
        let reply = app
            .post(
                &format!("/v1/sessions/challenges/{id}"),
                None,
                &json!({ "factor": "password", "password": strong_password() }),
            )
            .await;
        answers.push((reply.status, reply.json()));
    }
    assert_eq!(answers[0].0.as_u16(), 401, "{:?}", answers[0]);
    assert_eq!(answers[0], answers[1]);

    // Registering a taken address: the same 201 shape, and the owner is told by mail.
    let reply = app
        .post(
            "/v1/accounts",
            None,
            &json!({ "email": email, "password": strong_password() }),
        )
        .await;
    let again = reply.expect(201).json();
    let fresh = app
        .register(&unique_email("fresh"), &strong_password())
        .await;
    let fresh = fresh.expect(201).json();
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&again), keys(&fresh));
    assert_eq!(again["status"], "pending");
    assert!(
        again["id"]
            .as_str()
            .is_some_and(|id| id.len() == fresh["id"].as_str().unwrap().len()),
        "{again} vs {fresh}"
    );
    let notice = support::wait_for_mail(&email, |m| {
        m.subject.to_lowercase().contains("tried to register")
    })
    .await;
    assert!(
        link_token(&notice.body, &app.base, "verify-email").is_none(),
        "the notice must not carry a verification link: {}",
        notice.body
    );
    // The owner's password was not replaced.
    app.login(&email, &password).await;
}

/// A pending account whose verification mail never arrived (lost, or a crash between storing
/// the account and queuing the mail) is not stuck: registering the address again mails a
/// fresh link, which activates the account with the password it was created with, and the
/// caller's answer is the usual one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_pending_address_again_sends_a_fresh_link() {
    let app = TestApp::spawn().await;
    let email = unique_email("pending-again");
    let password = strong_password();
    app.register(&email, &password).await.expect(201);
    let first = app.wait_for_link(&email, "verify-email").await;
    let first = link_token(&first.body, &app.base, "verify-email").unwrap();

    let again = app.register(&email, &strong_password()).await;
    assert_eq!(again.expect(201).json()["status"], "pending");
    let links = || {
        mails_to(&email)
            .into_iter()
            .filter_map(|m| link_token(&m.body, &app.base, "verify-email"))
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while links().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second link");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let second = links().pop().unwrap();
    assert_ne!(first, second);
    assert!(
        mails_to(&email)
            .iter()
            .all(|m| !m.subject.contains("tried to register")),
        "a pending account's owner gets the link, not the notice"
    );
    // The fresh link replaced the first one.
    app.post("/v1/accounts/verify", None, &json!({ "token": first }))
        .await
        .problem(400, None);
    app.post("/v1/accounts/verify", None, &json!({ "token": second }))
        .await
        .expect(204);
    app.login(&email, &password).await;
}
