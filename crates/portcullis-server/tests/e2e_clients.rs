//! End-to-end: service accounts, the client-credentials grant (RFC 6749 §4.4), introspection
//! by a client (RFC 7662) and revocation by a client (RFC 7009).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Backend, TestApp, Tokens, strong_password, unique_email};

/// Creates a client through the service (as the CLI does); returns (id, secret).
async fn add_client(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let created = portcullis_server::services::clients::create(
        &app.server().state,
        name,
        scopes.iter().map(|s| (*s).to_owned()).collect(),
        "test",
    )
    .await
    .expect("client created");
    (created.record.id, created.secret.expose().to_owned())
}

fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn form(app: &TestApp, path: &str, auth: Option<&str>, body: &str) -> support::Reply {
    let mut req = app
        .request(Method::POST, path, None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    app.send(req).await
}

fn oauth_error(reply: &support::Reply, status: u16, error: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

async fn grant_and_introspect(backend: Backend) {
    let app = TestApp::builder()
        .backend(backend)
        .file_mail()
        .spawn()
        .await;
    let (id, secret) = add_client(
        &app,
        "billing",
        &[
            "ledger:read",
            "ledger:write",
            "portcullis:introspect",
            "portcullis:revoke",
        ],
    )
    .await;
    let auth = basic(&id, &secret);

    // HTTP Basic, one scope asked for.
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&auth),
        "grant_type=client_credentials&scope=ledger%3Aread",
    )
    .await;
    let body = reply.expect(200).json();
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["scope"], "ledger:read", "{body}");
    assert!(body["expires_in"].as_i64().unwrap() > 0, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    // Form credentials, no scope: every allowed scope.
    let reply = form(
        &app,
        "/v1/oauth/token",
        None,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(
        reply.expect(200).json()["scope"],
        "ledger:read ledger:write portcullis:introspect portcullis:revoke"
    );

    // Failures, each in RFC 6749 §5.2 shape.
    let wrong = basic(&id, &"A".repeat(43));
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&wrong),
        "grant_type=client_credentials",
    )
    .await;
    oauth_error(&reply, 401, "invalid_client");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let unknown = basic("nobody", &secret);
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&unknown),
        "grant_type=client_credentials",
    )
    .await;
    oauth_error(&reply, 401, "invalid_client");
    let reply = form(
        &app,
        "/v1/oauth/token",
        None,
        "grant_type=client_credentials",
    )
    .await;
    oauth_error(&reply, 401, "invalid_client");
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&auth),
        "grant_type=client_credentials&scope=ledger%3Aread%20admin",
    )
    .await;
    oauth_error(&reply, 400, "invalid_scope");
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&auth),
        "grant_type=password&username=a&password=b",
    )
    .await;
    oauth_error(&reply, 400, "unsupported_grant_type");
    let reply = form(&app, "/v1/oauth/token", Some(&auth), "scope=ledger%3Aread").await;
    oauth_error(&reply, 400, "invalid_request");

    // The token is a JWT naming the client, with a scope claim.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], format!("client:{id}"), "{claims}");
    assert_eq!(claims["scope"], "ledger:read", "{claims}");

    // User endpoints refuse it: it has no session.
    app.get("/v1/me", Some(&token)).await.problem(401, None);
    app.get("/v1/sessions", Some(&token))
        .await
        .problem(401, None);

    // A client may introspect (Basic), both its own token and a user's.
    let introspect = |auth: String, t: String| {
        let app = &app;
        async move { form(app, "/v1/introspect", Some(&auth), &format!("token={t}")).await }
    };
    let info = introspect(auth.clone(), token.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], id.as_str(), "{info}");
    assert_eq!(info["scope"], "ledger:read", "{info}");
    let email = unique_email("client-user");
    let password = strong_password();
    let account = app.register(&email, &password).await.expect(201).json()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let state = &app.server().state;
    state
        .store()
        .accounts
        .mark_verified(account, state.now())
        .await
        .unwrap();
    let user = app.login(&email, &password).await;
    let info = introspect(auth.clone(), user.access.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(info["active"], true, "{info}");
    assert!(info.get("client_id").is_none(), "{info}");
    // A wrong secret cannot introspect.
    introspect(wrong.clone(), user.access.clone())
        .await
        .problem(401, None);
    // A client without the introspect and revoke scopes may do neither.
    let (narrow_id, narrow_secret) = add_client(&app, "narrow", &["ledger:read"]).await;
    let narrow = basic(&narrow_id, &narrow_secret);
    introspect(narrow.clone(), user.access.clone())
        .await
        .problem(403, None);
    let reply = form(
        &app,
        "/v1/revoke",
        Some(&narrow),
        &format!("token={}", user.refresh),
    )
    .await;
    oauth_error(&reply, 400, "unauthorized_client");
    app.get("/v1/me", Some(&user.access)).await.expect(200);
    // A session caller with the service role sees the client token too.
    let service = app.service_caller().await;
    let info = app
        .introspect(Some(&service), &token)
        .await
        .expect(200)
        .json();
    assert_eq!(info["active"], true, "{info}");

    // Revocation (RFC 7009): a refresh token ends the user's session; unknown tokens are fine.
    let reply = form(
        &app,
        "/v1/revoke",
        Some(&wrong),
        &format!("token={}", user.refresh),
    )
    .await;
    oauth_error(&reply, 401, "invalid_client");
    form(
        &app,
        "/v1/revoke",
        Some(&auth),
        &format!("token={}&token_type_hint=refresh_token", user.refresh),
    )
    .await
    .expect(200);
    let info = introspect(auth.clone(), user.access.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(info, json!({"active": false}));
    app.get("/v1/me", Some(&user.access))
        .await
        .problem(401, None);
    app.refresh(&user.refresh).await.problem(401, None);
    form(&app, "/v1/revoke", Some(&auth), "token=never-issued")
        .await
        .expect(200);
    form(
        &app,
        "/v1/revoke",
        Some(&auth),
        &format!("token={}", "B".repeat(43)),
    )
    .await
    .expect(200);

    // Revoking by access token ends that session too.
    let second: Tokens = app.login(&email, &password).await;
    form(
        &app,
        "/v1/revoke",
        Some(&auth),
        &format!("token={}", second.access),
    )
    .await
    .expect(200);
    app.get("/v1/me", Some(&second.access))
        .await
        .problem(401, None);

    // Rotation: the old secret stops working; removal: the client's tokens go inactive.
    let state = &app.server().state;
    let new_secret = portcullis_server::services::clients::rotate_secret(state, &id, "test")
        .await
        .unwrap();
    let reply = form(
        &app,
        "/v1/oauth/token",
        Some(&auth),
        "grant_type=client_credentials",
    )
    .await;
    oauth_error(&reply, 401, "invalid_client");
    let fresh = basic(&id, new_secret.expose());
    form(
        &app,
        "/v1/oauth/token",
        Some(&fresh),
        "grant_type=client_credentials",
    )
    .await
    .expect(200);
    portcullis_server::services::clients::remove(state, &id, "test")
        .await
        .unwrap();
    let info = app
        .introspect(Some(&service), &token)
        .await
        .expect(200)
        .json();
    assert_eq!(info, json!({"active": false}));

    // No secret reaches the audit log.
    let records = state.ledgers().audit.page(0, 10_000).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.event.event == "admin.client_added")
    );
    assert!(
        records
            .iter()
            .any(|r| r.event.event == "admin.client_secret_rotated")
    );
    assert!(
        records
            .iter()
            .any(|r| r.event.event == "admin.client_removed")
    );
    assert!(records.iter().any(|r| r.event.event == "session.revoked"
        && r.event.actor.as_deref() == Some(&format!("client:{id}"))));
    for r in &records {
        let text = format!(
            "{} {:?} {:?} {}",
            r.event.event, r.event.actor, r.event.subject, r.event.detail
        );
        for s in [secret.as_str(), new_secret.expose(), &user.refresh] {
            assert!(!text.contains(s), "a secret reached the audit log: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_sqlite() {
    grant_and_introspect(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_postgres() {
    grant_and_introspect(Backend::Postgres).await;
}
