//! The pages that mail links open: following the link from the real mail shows a form,
//! submitting it verifies the address or sets the new password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::json;
use support::{TestApp, link_token, strong_password, unique_email};

fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding(v)))
        .collect();
    app.request(Method::POST, path, None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_link_opens_a_form_that_verifies() {
    let app = TestApp::spawn().await;
    let email = unique_email("page-verify");
    let password = strong_password();
    app.register(&email, &password).await.expect(201);
    let mail = app.wait_for_link(&email, "verify-email").await;
    let token = link_token(&mail.body, &app.base, "verify-email").unwrap();

    // Opening the link (twice, as a mail scanner would) shows a form and spends nothing.
    for _ in 0..2 {
        let page = app.get(&format!("/verify-email?token={token}"), None).await;
        page.expect(200);
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            page.text.contains(&format!(r#"value="{token}""#)),
            "{}",
            page.text
        );
        assert!(
            page.text
                .contains(r#"<form method="post" action="/verify-email">"#)
        );
        assert!(!page.text.contains("<script"));
    }
    app.try_login(&email, &password).await.problem(403, None);

    let done = app
        .send(form(&app, "/verify-email", &[("token", &token)]))
        .await;
    done.expect(200);
    assert!(done.text.contains("verified"), "{}", done.text);
    app.login(&email, &password).await;

    // The link is spent now.
    let again = app
        .send(form(&app, "/verify-email", &[("token", &token)]))
        .await;
    again.expect(400);
    assert!(
        again.text.contains("invalid or has expired"),
        "{}",
        again.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_link_opens_a_form_that_explains_refusals() {
    let app = TestApp::spawn().await;
    let email = unique_email("page-reset");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    app.post("/v1/password/forgot", None, &json!({ "email": email }))
        .await
        .expect(202);
    let mail = app.wait_for_link(&email, "reset-password").await;
    let token = link_token(&mail.body, &app.base, "reset-password").unwrap();

    let page = app
        .get(&format!("/reset-password?token={token}"), None)
        .await;
    page.expect(200);
    assert!(
        page.text.contains(r#"<label for="new_password">"#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"autocomplete="new-password""#));

    // A weak password is refused with the reason, and the link stays usable.
    let weak = app
        .send(form(
            &app,
            "/reset-password",
            &[("token", &token), ("new_password", "password1")],
        ))
        .await;
    weak.expect(422);
    assert!(weak.text.contains(r#"role="alert""#), "{}", weak.text);
    assert!(weak.text.contains("too easy to guess"), "{}", weak.text);
    assert!(weak.text.contains(&format!(r#"value="{token}""#)));

    let fresh = strong_password();
    let done = app
        .send(form(
            &app,
            "/reset-password",
            &[("token", &token), ("new_password", &fresh)],
        ))
        .await;
    done.expect(200);
    assert!(done.text.contains("Password changed"), "{}", done.text);
    app.try_login(&email, &password).await.problem(401, None);
    app.login(&email, &fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_what_they_echo() {
    let app = TestApp::spawn().await;
    let page = app
        .get(
            "/verify-email?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
            None,
        )
        .await;
    page.expect(200);
    assert!(!page.text.contains("<script>"), "{}", page.text);
    assert!(
        page.text.contains("&quot;&gt;&lt;script&gt;"),
        "{}",
        page.text
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_page_mails_a_link_and_reveals_nothing() {
    let app = TestApp::spawn().await;
    let email = unique_email("page-forgot");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let page = app.get("/forgot-password", None).await;
    page.expect(200);
    assert!(
        page.text.contains(r#"<label for="email">"#),
        "{}",
        page.text
    );
    let known = app
        .send(form(&app, "/forgot-password", &[("email", &email)]))
        .await;
    known.expect(202);
    let unknown = app
        .send(form(
            &app,
            "/forgot-password",
            &[("email", &unique_email("nobody"))],
        ))
        .await;
    unknown.expect(202);
    assert_eq!(known.text, unknown.text, "the same page either way");
    let mail = app.wait_for_link(&email, "reset-password").await;
    assert!(link_token(&mail.body, &app.base, "reset-password").is_some());
}
