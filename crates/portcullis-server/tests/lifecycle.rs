//! Behaviour across time and restarts: mail retried until it goes through, passwords
//! re-hashed when the parameters change, signing keys rotated under a running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_core::password::Argon2Params;
use portcullis_server::config::{Config, MailTransportKind, SmtpSecurity};
use portcullis_server::keyfiles;
use portcullis_server::services::mail::{self, Mail, Transport};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = "quartz lantern meadow 7 violin";

fn config(dir: &Path, argon2: Argon2Params) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.into(),
        ..Config::default()
    };
    c.password.argon2 = argon2;
    c
}

fn cheap(memory_kib: u32) -> Argon2Params {
    Argon2Params {
        memory_kib,
        iterations: 1,
        parallelism: 1,
    }
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Registers and verifies through the store, returning the account id.
async fn active_account(server: &portcullis_server::Server, email: &str) -> String {
    let (status, body) = post(
        &format!("{}/v1/accounts", server.url()),
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let state = &server.state;
    assert!(
        state
            .store()
            .accounts
            .mark_verified(id.parse().unwrap(), state.now())
            .await
            .unwrap()
    );
    id
}

async fn login(server: &portcullis_server::Server, email: &str) -> Value {
    let (status, body) = post(
        &format!("{}/v1/sessions", server.url()),
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_mail_stays_queued_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let server = portcullis_server::start(config(dir.path(), cheap(1024)))
        .await
        .unwrap();
    let state = server.state.clone();
    // Nothing listens on this port: delivery fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut smtp = Config::default().mail;
    smtp.transport = MailTransportKind::Smtp;
    smtp.smtp_host = "127.0.0.1".into();
    smtp.smtp_port = port;
    smtp.smtp_security = SmtpSecurity::None;
    let failing = Transport::from_config(&smtp, dir.path()).unwrap();
    let outbox = dir.path().join("retry-outbox");
    let working = Transport::Files(outbox.clone());

    // Stop the server first so its own worker cannot deliver the message.
    server.stop().await.unwrap();
    assert_eq!(state.store().outbox.backlog().await.unwrap(), 0);
    mail::enqueue(
        &state,
        &Mail {
            to: "retry@example.com".into(),
            subject: "retry".into(),
            body: "hello".into(),
            link: None,
        },
    )
    .await
    .unwrap();

    assert_eq!(mail::deliver_due(&state, &failing).await.unwrap(), 1);
    assert_eq!(
        state.store().outbox.backlog().await.unwrap(),
        1,
        "kept after a failure"
    );
    // Not due again before its back-off (2 s after the first attempt).
    assert_eq!(mail::deliver_due(&state, &working).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(mail::deliver_due(&state, &working).await.unwrap(), 1);
    assert_eq!(state.store().outbox.backlog().await.unwrap(), 0);
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(text.contains("To: retry@example.com"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rehashes_when_parameters_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = portcullis_server::start(config(dir.path(), cheap(1024)))
        .await
        .unwrap();
    let id = active_account(&server, "rehash@example.com").await;
    let stored = |s: &portcullis_server::Server| {
        let state = s.state.clone();
        let id = id.parse().unwrap();
        async move {
            state
                .store()
                .accounts
                .get(id)
                .await
                .unwrap()
                .unwrap()
                .password_hash
        }
    };
    assert!(stored(&server).await.contains("m=1024,"));
    server.stop().await.unwrap();

    let server = portcullis_server::start(config(dir.path(), cheap(2048)))
        .await
        .unwrap();
    login(&server, "rehash@example.com").await;
    let after = stored(&server).await;
    assert!(after.contains("$argon2id$v=19$m=2048,t=1,p=1$"), "{after}");
    // And the new hash still logs in.
    login(&server, "rehash@example.com").await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_picks_up_rotated_keys_and_keeps_old_ones_published() {
    let dir = tempfile::tempdir().unwrap();
    let server = portcullis_server::start(config(dir.path(), cheap(1024)))
        .await
        .unwrap();
    active_account(&server, "rotate@example.com").await;
    let old = login(&server, "rotate@example.com").await;
    let old_access = old["access_token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let jwks = || async {
        client
            .get(format!("{}/.well-known/jwks.json", server.url()))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(jwks().await["keys"].as_array().unwrap().len(), 1);

    // What `portcullis keys rotate` does, while the server runs.
    let path = keyfiles::signing_keys_path(dir.path());
    let mut keys = keyfiles::load(&path).unwrap();
    let old_kid = keys.active_kid().to_owned();
    keys.rotate([7u8; 32], server.state.now()).unwrap();
    let new_kid = keys.active_kid().to_owned();
    keyfiles::save(&path, &keys).unwrap();

    let mut published = 0;
    for _ in 0..50 {
        published = jwks().await["keys"].as_array().unwrap().len();
        if published == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        published, 2,
        "the old key stays published beside the new one"
    );
    let fresh = login(&server, "rotate@example.com").await;
    let header = |t: &str| -> Value {
        use base64::Engine as _;
        let h = t.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        header(fresh["access_token"].as_str().unwrap())["kid"],
        new_kid.as_str()
    );
    assert_eq!(header(&old_access)["kid"], old_kid.as_str());
    // A token signed by the retired key still works until it expires.
    let me = client
        .get(format!("{}/v1/me", server.url()))
        .bearer_auth(&old_access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    server.stop().await.unwrap();
}
