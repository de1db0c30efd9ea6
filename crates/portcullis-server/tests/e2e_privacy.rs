//! End-to-end: what the server keeps about a person: the data export, deletion, and that
//! personal data is encrypted at rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::path::Path;
use support::{TestApp, strong_password, unique_email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_delete_then_register_again() {
    let app = TestApp::spawn().await;
    let email = unique_email("gdpr");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    app.patch(
        "/v1/me",
        Some(&tokens.access),
        &json!({ "display_name": "Grace Hopper", "phone": "+14155552671" }),
    )
    .await
    .expect(200);

    let reply = app.get("/v1/me/export", Some(&tokens.access)).await;
    let export = reply.expect(200).json();
    assert_eq!(export["account"]["email"], email.as_str(), "{export}");
    assert_eq!(export["account"]["id"], id.as_str(), "{export}");
    assert_eq!(
        export["account"]["display_name"], "Grace Hopper",
        "{export}"
    );
    assert_eq!(export["account"]["phone"], "+14155552671", "{export}");
    let sessions = export["sessions"].as_array().expect("sessions");
    assert!(
        sessions
            .iter()
            .any(|s| s["id"] == tokens.session_id.as_str()),
        "{export}"
    );
    let events: Vec<&str> = export["audit_events"]
        .as_array()
        .expect("audit_events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for wanted in ["account.registered", "login.succeeded", "account.updated"] {
        assert!(
            events.contains(&wanted),
            "export lacks {wanted}: {events:?}"
        );
    }
    app.get("/v1/me/export", None).await.problem(401, None);

    // Deletion asks for the password.
    app.delete(
        "/v1/me",
        Some(&tokens.access),
        Some(&json!({ "password": strong_password() })),
    )
    .await
    .problem(401, None);
    app.get("/v1/me", Some(&tokens.access)).await.expect(200);
    app.delete(
        "/v1/me",
        Some(&tokens.access),
        Some(&json!({ "password": password })),
    )
    .await
    .expect(204);

    // Gone: its token, its login, its data.
    app.get("/v1/me", Some(&tokens.access))
        .await
        .problem(401, None);
    app.get("/v1/me/export", Some(&tokens.access))
        .await
        .problem(401, None);
    app.refresh(&tokens.refresh).await.problem(401, None);
    app.try_login(&email, &password)
        .await
        .problem(401, Some("invalid-credentials"));

    // The address is free again: a new account, with a new verification mail.
    let seen: Vec<String> = support::mails_to(&email)
        .into_iter()
        .map(|m| m.raw)
        .collect();
    let reply = app.register(&email, &password).await;
    let new_id = reply.expect(201).json()["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    let mail = support::wait_for_mail(&email, |m| {
        !seen.contains(&m.raw) && support::link_token(&m.body, &app.base, "verify-email").is_some()
    })
    .await;
    let token = support::link_token(&mail.body, &app.base, "verify-email").unwrap();
    app.post("/v1/accounts/verify", None, &json!({ "token": token }))
        .await
        .expect(204);
    let fresh = app.login(&email, &password).await;
    let me = app
        .get("/v1/me", Some(&fresh.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["id"], new_id.as_str(), "{me}");
    assert_eq!(me["display_name"], json!(null), "{me}");
}

/// Every file under `dir`, recursively, with its bytes.
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the data directory") {
        let entry = entry.expect("directory entry");
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            let bytes = std::fs::read(&path).expect("read a data file");
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_encrypted_at_rest() {
    let mut app = TestApp::spawn().await;
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    let local = format!("secret.person.{uuid}");
    let email = format!("{local}@example.com");
    let name = format!("Secretname {}", &uuid[20..]);
    let digits = format!("1415{:07}", uuid::Uuid::now_v7().as_u128() % 10_000_000);
    let phone = format!("+{digits}");
    let new_phone_digits = format!("4930{}", &digits[4..]);
    let password = strong_password();

    let reply = app
        .post(
            "/v1/accounts",
            None,
            &json!({ "email": email, "password": password, "display_name": name, "phone": phone }),
        )
        .await;
    let account_id = reply.expect(201).json()["id"].as_str().unwrap().to_owned();
    app.verify_by_mail(&email).await;
    // Leave traces everywhere personal data could leak: failed and good logins, a duplicate
    // registration, a reset request, a profile change, a refresh, a logout.
    app.try_login(&email, &strong_password())
        .await
        .problem(401, None);
    let tokens = app.login(&email, &password).await;
    app.register(&email, &strong_password()).await.expect(201);
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
        .expect(202);
    app.wait_for_link(&email, "reset-password").await;
    support::wait_for_mail(&email, |m| m.subject.contains("tried to register")).await;
    app.patch(
        "/v1/me",
        Some(&tokens.access),
        &json!({ "phone": format!("+{new_phone_digits}") }),
    )
    .await
    .expect(200);
    let tokens = support::Tokens::from_json(&app.refresh(&tokens.refresh).await.expect(200).json());
    app.delete("/v1/sessions/current", Some(&tokens.access), None)
        .await
        .expect(204);

    // Give the outbox worker time to finish with every message, then stop.
    let state = app.server().state.clone();
    for _ in 0..100 {
        if state.store().outbox.backlog().await.expect("backlog") == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(state);
    app.stop().await;

    // The development keys beside the data are readable by their owner only.
    #[cfg(unix)]
    for name in ["keyring.json", "signing-keys.json"] {
        use std::os::unix::fs::PermissionsExt as _;
        let path = app.data_dir().join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} has mode {mode:o}");
    }

    let files = all_files(app.data_dir());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("portcullis.db")),
        "no SQLite database in {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    // The scan sees the data: the account id, which is not personal, is stored in clear.
    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, account_id.as_bytes())),
        "the account id is nowhere in the data directory: the scan reads nothing useful"
    );
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("e-mail", email.clone().into_bytes()),
        ("e-mail local part", local.clone().into_bytes()),
        ("e-mail uuid", uuid.clone().into_bytes()),
        ("display name", name.clone().into_bytes()),
        ("phone digits", digits.clone().into_bytes()),
        ("new phone digits", new_phone_digits.clone().into_bytes()),
        // The same in UTF-16 (SQLite can store text so).
        (
            "e-mail local part (UTF-16LE)",
            local.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ),
    ];
    let mut leaks = Vec::new();
    for (path, bytes) in &files {
        for (what, needle) in &needles {
            if contains(bytes, needle) {
                leaks.push(format!("{what} in {path}"));
            }
        }
    }
    assert!(leaks.is_empty(), "personal data stored in clear: {leaks:?}");
}
