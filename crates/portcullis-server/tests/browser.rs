//! The web pages: in a real headless Chromium (Debian's, driven by playwright-core from
//! `tests/browser/`), and without a browser for what a browser would never send — forms
//! without their CSRF token or from another origin — and for the page session's cookies.
//!
//! `scripts/test` installs Chromium and the npm packages and exports
//! `PORTCULLIS_TEST_CHROMIUM` and `PORTCULLIS_TEST_BROWSER_DIR`; without them the browser
//! test fails with a hint (it never skips).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use std::path::PathBuf;
use std::time::Duration;
use support::browser::{run_script, screenshot_dir};
use support::{TestApp, strong_password, unique_email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_verify_enrol_totp_and_sign_in_with_codes_in_chromium() {
    let app = TestApp::spawn().await;
    run_script(
        &app,
        "pages.js",
        &screenshot_dir(""),
        &[],
        &[
            "01-signup",
            "03-signin",
            "05-security-qr",
            "06-factor-picker",
            "07-recovery-codes",
        ],
    )
    .await;
}

/// Image and gesture passcodes (`tests/browser/passcodes.js`): a generated PNG uploaded on
/// `/security` and at step-up and sign-in (a re-encoded copy refused), a gesture drawn with
/// the mouse to enrol and with the keyboard to sign in (one changed event refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_gesture_passcodes_enrol_step_up_and_sign_in_in_chromium() {
    let app = TestApp::spawn().await;
    run_script(
        &app,
        "passcodes.js",
        &screenshot_dir("passcodes"),
        &[],
        &[
            "31-security-passcodes",
            "32-security-gesture-pad",
            "33-step-up-image",
            "34-factor-picker-passcodes",
            "35-image-refused",
            "36-factor-picker-gesture-pad",
        ],
    )
    .await;
}

/// Passkeys with Chromium's virtual authenticator (CDP `WebAuthn`), on `http://localhost`:
/// added on `/security`, used after the password in the factor picker, and alone with
/// "Sign in with a passkey".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_added_and_sign_in_with_and_without_a_password_in_chromium() {
    let app = TestApp::spawn().await;
    run_script(
        &app,
        "passkeys.js",
        &screenshot_dir("passkeys"),
        &[],
        &[
            "21-security-passkey",
            "22-factor-picker-passkey",
            "23-signin-passkey",
            "24-security-after-passkey",
        ],
    )
    .await;
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Response {
    let mut req = no_redirects()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields));
    if let Some(o) = origin {
        req = req.header(ORIGIN, o);
    }
    req.send().await.unwrap()
}

/// The value of the hidden CSRF field of a page.
fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of each cookie a response sets.
fn set_cookies(resp: &Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let pair = v.split(';').next()?;
            let (k, v) = pair.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

async fn recovery_codes_left(app: &TestApp, access: &str) -> i64 {
    app.get("/v1/me/factors", Some(access)).await.json()["recovery_codes_left"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::spawn().await;
    let email = unique_email("page-csrf");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let cookie = format!("portcullis_at={}", tokens.access);

    let page = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&page.text().await.unwrap());
    assert_eq!(csrf.len(), 64, "{csrf}");

    let own = app.base.as_str();
    let short = &csrf[..63];
    let refused = [
        (Some(own), vec![]),
        (None, vec![]),
        (Some(own), vec![("csrf", "")]),
        (Some(own), vec![("csrf", short)]),
        (Some("http://evil.example"), vec![("csrf", csrf.as_str())]),
    ];
    for (origin, fields) in &refused {
        let resp = post_form(&app, "/security/recovery-codes", &cookie, *origin, fields).await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {fields:?}"
        );
        let text = resp.text().await.unwrap();
        assert!(text.contains("Request refused"), "{text}");
    }
    // A token of another session does not do either.
    let other = app.login(&email, &password).await;
    let other_page = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, format!("portcullis_at={}", other.access))
        .send()
        .await
        .unwrap();
    let other_csrf = csrf_of(&other_page.text().await.unwrap());
    assert_ne!(other_csrf, csrf);
    let resp = post_form(
        &app,
        "/signout",
        &cookie,
        Some(own),
        &[("csrf", &other_csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = no_redirects()
        .post(app.url("/security/sessions/revoke"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("csrf", &csrf),
            ("session", &other.session_id),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Nothing happened.
    assert_eq!(recovery_codes_left(&app, &tokens.access).await, 0);
    app.get("/v1/me", Some(&other.access)).await.expect(200);
    app.get("/v1/me", Some(&tokens.access)).await.expect(200);

    // Visitors' forms from another origin are refused too.
    let resp = no_redirects()
        .post(app.url("/signin"))
        .header(ORIGIN, "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("email", &email), ("password", &password)]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // With the token, from our origin, the same form works.
    let resp = post_form(
        &app,
        "/security/recovery-codes",
        &cookie,
        Some(own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Your recovery codes"));
    assert_eq!(recovery_codes_left(&app, &tokens.access).await, 10);
    let resp = post_form(&app, "/signout", &cookie, Some(own), &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookies(&resp);
    assert!(
        cleared.contains(&("portcullis_at".into(), String::new())),
        "{cleared:?}"
    );
    assert!(
        cleared.contains(&("portcullis_rt".into(), String::new())),
        "{cleared:?}"
    );
    app.get("/v1/me", Some(&tokens.access)).await.expect(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_cookie_is_refreshed_transparently_and_a_dead_one_cleared() {
    let app = TestApp::builder()
        .configure(|c| {
            // Whole seconds: a 1 s token can be issued a millisecond before its expiry
            // second, so the refreshed one would already be dead under load.
            c.tokens.access_ttl = Duration::from_secs(3);
            c.tokens.leeway = Duration::from_secs(0);
        })
        .spawn()
        .await;
    let email = unique_email("page-refresh");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;

    // No cookies: off to sign in.
    let resp = no_redirects()
        .get(app.url("/security"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/signin");

    tokio::time::sleep(Duration::from_millis(4100)).await;
    let both = format!(
        "portcullis_at={}; portcullis_rt={}",
        tokens.access, tokens.refresh
    );
    let resp = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, &both)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = set_cookies(&resp);
    let value = |name: &str| {
        fresh
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {fresh:?}"))
    };
    let (access, refresh) = (value("portcullis_at"), value("portcullis_rt"));
    assert_ne!(access, tokens.access);
    assert_ne!(refresh, tokens.refresh);
    // The old refresh token is spent; the new one refreshes again.
    app.refresh(&refresh).await.expect(200);

    // A cookie of no live session is cleared and the browser sent to sign in.
    let resp = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, "portcullis_at=nonsense; portcullis_rt=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookies(&resp);
    assert!(
        cleared.contains(&("portcullis_at".into(), String::new())),
        "{cleared:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_session_steps_up_with_its_password_before_a_change() {
    let app = TestApp::builder()
        .configure(|c| c.mfa.fresh_auth = Duration::from_secs(1))
        .spawn()
        .await;
    let email = unique_email("page-stepup");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let cookie = format!(
        "portcullis_at={}; portcullis_rt={}",
        tokens.access, tokens.refresh
    );
    let page = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let own = app.base.as_str();
    let resp = post_form(
        &app,
        "/security/recovery-codes",
        &cookie,
        Some(own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Confirm it is you"), "{html}");
    assert!(html.contains(r#"name="factor" value="password""#), "{html}");
    let marker = r#"name="challenge" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let challenge = html[start..].split('"').next().unwrap().to_owned();

    let wrong = post_form(
        &app,
        "/security/step-up",
        &cookie,
        Some(own),
        &[
            ("csrf", &csrf),
            ("challenge", &challenge),
            ("factor", "password"),
            ("code", "wrong password"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("attempts left"));

    let resp = post_form(
        &app,
        "/security/step-up",
        &cookie,
        Some(own),
        &[
            ("csrf", &csrf),
            ("challenge", &challenge),
            ("factor", "password"),
            ("code", &password),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/security?notice=stepped-up");
    let raised = set_cookies(&resp);
    let access = raised
        .iter()
        .find(|(k, _)| k == "portcullis_at")
        .map(|(_, v)| v.clone())
        .expect("a raised access token");
    // Only the access token changes; the refresh token stays the session's.
    assert!(
        raised.iter().all(|(k, _)| k != "portcullis_rt"),
        "{raised:?}"
    );
    let cookie = format!("portcullis_at={access}; portcullis_rt={}", tokens.refresh);
    let resp = post_form(
        &app,
        "/security/recovery-codes",
        &cookie,
        Some(own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Your recovery codes"));
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

/// The texts the development SMS transport wrote (`data_dir/sms/*.txt`), oldest first.
fn texts(app: &TestApp) -> Vec<String> {
    let dir = app.data_dir().join("sms");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The value of the hidden field `name` of a page.
fn hidden_of(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Posts the code that confirms a phone number.
async fn confirm_code(
    app: &TestApp,
    cookie: &str,
    csrf: &str,
    factor: &str,
    code: &str,
) -> Response {
    let fields = [
        ("csrf", csrf),
        ("factor", factor),
        ("kind", "sms"),
        ("code", code),
    ];
    post_form(
        app,
        "/security/codes/confirm",
        cookie,
        Some(&app.base),
        &fields,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_and_e_mail_codes_are_added_on_the_page_and_a_texted_code_signs_in() {
    let app = TestApp::spawn().await;
    let email = unique_email("page-codes");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let cookie = format!("portcullis_at={}", tokens.access);
    let own = app.base.as_str();
    let page = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/security/phone""#), "{page}");
    let csrf = csrf_of(&page);

    // Add a phone: a code is texted, a wrong one refused, the right one confirms.
    let phone = "+447700900123";
    let resp = post_form(
        &app,
        "/security/phone",
        &cookie,
        Some(own),
        &[("csrf", &csrf), ("phone", phone)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Confirm your phone number"), "{html}");
    let factor = hidden_of(&html, "factor");
    let sent = texts(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with(&format!("To: {phone}\n")),
        "{}",
        sent[0]
    );
    let (_, body) = sent[0].split_once("\n\n").unwrap();
    let code = code_in(body);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let resp = confirm_code(&app, &cookie, &csrf, &factor, wrong).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("not valid"));
    let resp = confirm_code(&app, &cookie, &csrf, &factor, &code).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/security?notice=phone-added");

    // A bad number is refused on the page, and nothing is texted.
    let resp = post_form(
        &app,
        "/security/phone",
        &cookie,
        Some(own),
        &[("csrf", &csrf), ("phone", "07700 900123")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("role=\"alert\""));
    assert_eq!(texts(&app).len(), 1);

    // Sign in: the password, then "Send me a code" and the texted code.
    let resp = no_redirects()
        .post(app.url("/signin"))
        .header(ORIGIN, own)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("email", &email), ("password", &password)]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let picker = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(picker.starts_with("/signin/factor?challenge="), "{picker}");
    let html = no_redirects()
        .get(app.url(&picker))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"formaction="/signin/factor/send" formnovalidate>Send me a code"#),
        "{html}"
    );
    let challenge = hidden_of(&html, "challenge");
    let resp = post_form(
        &app,
        "/signin/factor/send",
        "",
        Some(own),
        &[("challenge", &challenge), ("factor", "sms"), ("code", "")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("We texted you a code"));
    let sent = texts(&app);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let code = code_in(sent[1].split_once("\n\n").unwrap().1);
    let resp = post_form(
        &app,
        "/signin/factor",
        "",
        Some(own),
        &[
            ("challenge", &challenge),
            ("factor", "sms"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/security");
    let fresh = set_cookies(&resp);
    let access = fresh
        .iter()
        .find(|(k, _)| k == "portcullis_at")
        .map(|(_, v)| v.clone())
        .expect("a session cookie");

    // E-mail codes, confirmed with the code the real SMTP server received.
    let cookie = format!("portcullis_at={access}");
    let page = no_redirects()
        .get(app.url("/security"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let resp = post_form(
        &app,
        "/security/email-codes",
        &cookie,
        Some(own),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Confirm e-mail codes"), "{html}");
    let factor = hidden_of(&html, "factor");
    let mail = support::wait_for_mail(&email, |m| m.subject == "Your Portcullis code").await;
    let resp = post_form(
        &app,
        "/security/codes/confirm",
        &cookie,
        Some(own),
        &[
            ("csrf", &csrf),
            ("factor", &factor),
            ("kind", "email_otp"),
            ("code", &code_in(&mail.body)),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/security?notice=email-codes-added"
    );
    let mut kinds: Vec<String> = app.get("/v1/me/factors", Some(&access)).await.json()["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["confirmed"] == true)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["email_otp", "sms"]);
}

/// Removes a file when dropped (also when the test fails).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// DualConfirm's consoles: an advisor and a client, paired here, in two browser contexts
/// (`tests/browser/dualconfirm.js`): matching words, a live rotation (4-second windows), a
/// match, a mismatch that alerts the advisor, and both consoles reconnecting by themselves
/// when their 30-second access tokens expire. The script reads the accounts from
/// `accounts.json` in its screenshot folder (removed afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dualconfirm_consoles_show_matching_live_words_checks_and_alerts_in_chromium() {
    use portcullis_core::dualconfirm::words::Language;
    use portcullis_server::services::dualconfirm::pairs;

    let app = TestApp::builder()
        .configure(|c| {
            c.dualconfirm.window = Duration::from_secs(4);
            c.dualconfirm.grace = Duration::from_secs(1);
            c.tokens.access_ttl = Duration::from_secs(30);
        })
        .spawn()
        .await;
    let mut ids = Vec::new();
    let mut accounts = serde_json::Map::new();
    // The client's name is markup, which the pages must show as text.
    for (role, name) in [
        ("advisor", "Ada Advisor"),
        ("client", "Colin <b>Client</b> & Co"),
    ] {
        let email = unique_email(&format!("dc-{role}"));
        let password = strong_password();
        let id = app.register_active(&email, &password).await;
        app.set_roles(&id, &[role]).await;
        let access = app.login(&email, &password).await.access;
        let body = serde_json::json!({ "display_name": name });
        app.patch("/v1/me", Some(&access), &body).await.expect(200);
        ids.push(id.parse().unwrap());
        accounts.insert(
            role.to_owned(),
            serde_json::json!({ "email": email, "password": password, "name": name }),
        );
    }
    let pair = pairs::create(
        &app.server().state,
        ids[0],
        ids[1],
        Language::En,
        "test".to_owned(),
        None,
    )
    .await
    .unwrap();
    // The consoles name each party by the name an administrator set (the verified identity),
    // not by the display name the account chose.
    let names = pairs::PairNames {
        advisor: Some("Ada Advisor".to_owned()),
        client: Some("Colin <b>Client</b> & Co".to_owned()),
    };
    pairs::set_names(
        &app.server().state,
        &pair.id,
        &names,
        "test".to_owned(),
        None,
    )
    .await
    .unwrap();

    let shots = screenshot_dir("dualconfirm");
    std::fs::create_dir_all(&shots).unwrap();
    let file = shots.join("accounts.json");
    std::fs::write(&file, serde_json::Value::Object(accounts).to_string()).unwrap();
    let _remove = RemoveOnDrop(file);
    run_script(
        &app,
        "dualconfirm.js",
        &shots,
        &[],
        &[
            "31-advisor-console",
            "32-client-console",
            "33-client-match",
            "34-client-mismatch",
            "35-advisor-alert",
        ],
    )
    .await;
}

/// An account with `roles`, signed in over the API: (id, access token).
async fn dualconfirm_party(app: &TestApp, tag: &str, roles: &[&str]) -> (String, String) {
    let email = unique_email(tag);
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.set_roles(&id, roles).await;
    (id, app.login(&email, &password).await.access)
}

/// The page's check of a heard word, without a browser: only with the session's CSRF token
/// from our origin, only for the account's own pairs, only in a live session; JSON for the
/// script, a page for a plain form. `/dualconfirm/ping` answers 204 to a live session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dualconfirm_page_checks_words_only_with_its_csrf_token_and_for_own_pairs() {
    use futures_util::StreamExt as _;
    use portcullis_core::dualconfirm::words::Language;
    use portcullis_server::services::dualconfirm::pairs;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let app = TestApp::builder().file_mail().spawn().await;
    let (advisor_id, advisor) = dualconfirm_party(&app, "dcp-advisor", &["advisor"]).await;
    let (client_id, client) = dualconfirm_party(&app, "dcp-client", &["client"]).await;
    let (_, stranger) = dualconfirm_party(&app, "dcp-stranger", &["client"]).await;
    let (_, nobody) = dualconfirm_party(&app, "dcp-nobody", &[]).await;
    let pair = pairs::create(
        &app.server().state,
        advisor_id.parse().unwrap(),
        client_id.parse().unwrap(),
        Language::En,
        "test".to_owned(),
        None,
    )
    .await
    .unwrap();
    let own = app.base.as_str();
    let get = |path: &str, token: Option<&str>| {
        let mut req = no_redirects().get(app.url(path));
        if let Some(t) = token {
            req = req.header(COOKIE, format!("portcullis_at={t}"));
        }
        req.send()
    };

    // Signed out: off to sign in. Without a DualConfirm role: no console.
    for path in ["/dualconfirm", "/dualconfirm/ping"] {
        let resp = get(path, None).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(resp.headers()[LOCATION], "/signin");
    }
    let resp = get("/dualconfirm", Some(&nobody)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = get("/security", Some(&nobody)).await.unwrap();
    assert!(
        !resp
            .text()
            .await
            .unwrap()
            .contains(r#"href="/dualconfirm""#)
    );
    let resp = get("/security", Some(&client)).await.unwrap();
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"href="/dualconfirm""#)
    );
    let resp = get("/dualconfirm/ping", Some(&client)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let script = get("/assets/dualconfirm.js", None).await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    let page = get("/dualconfirm", Some(&client)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-console="client""#), "{html}");
    assert!(
        html.contains(&format!(r#"data-pair="{}""#, pair.id)),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let cookie = format!("portcullis_at={client}");
    let json_check = |cookie: String, origin: &str, fields: Vec<(&str, &str)>| {
        no_redirects()
            .post(app.url("/dualconfirm/check"))
            .header(COOKIE, cookie)
            .header(ORIGIN, origin)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&fields))
            .send()
    };

    // Without the token, with another session's, or from another origin: refused.
    let stranger_page = get("/dualconfirm", Some(&stranger)).await.unwrap();
    let stranger_csrf = csrf_of(&stranger_page.text().await.unwrap());
    for (origin, token) in [
        (own, ""),
        (own, stranger_csrf.as_str()),
        ("http://evil.example", csrf.as_str()),
    ] {
        let fields = vec![("csrf", token), ("pair", &pair.id), ("word", "anything")];
        let resp = json_check(cookie.clone(), origin, fields).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{origin} {token}");
    }
    // Someone else's pair does not exist for the stranger.
    let fields = vec![
        ("csrf", stranger_csrf.as_str()),
        ("pair", &pair.id),
        ("word", "anything"),
    ];
    let resp = json_check(format!("portcullis_at={stranger}"), own, fields)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // No live session yet.
    let fields = vec![("csrf", csrf.as_str()), ("pair", &pair.id), ("word", "x")];
    let resp = json_check(cookie.clone(), own, fields).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("live"), "{body}");

    // Both consoles connected (bearer sockets): the advisor's word matches.
    let mut sockets = Vec::new();
    for token in [&advisor, &client] {
        let url = app.url("/v1/dualconfirm/live").replacen("http", "ws", 1);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        sockets.push(tokio_tungstenite::connect_async(req).await.unwrap().0);
    }
    // The session is live once the client's socket hears its words.
    let client_socket = &mut sockets[1];
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = client_socket.next().await {
            if message
                .to_text()
                .is_ok_and(|t| t.contains(r#""type":"words""#))
            {
                return;
            }
        }
        panic!("the socket closed before the words came");
    })
    .await
    .expect("the words within 5 s");
    let words_path = format!("/v1/dualconfirm/pairs/{}/words", pair.id);
    let words = app.get(&words_path, Some(&client)).await.expect(200).json();
    let expect = words["expect"].as_str().unwrap().to_owned();
    let fields = vec![
        ("csrf", csrf.as_str()),
        ("pair", &pair.id),
        ("word", &expect),
    ];
    let resp = json_check(cookie.clone(), own, fields).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let verdict: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(verdict["match"], true, "{verdict}");
    assert_eq!(verdict["attempts_left"], 4, "{verdict}");
    // A plain form (no script) gets a page with the verdict.
    let resp = post_form(
        &app,
        "/dualconfirm/check",
        &cookie,
        Some(own),
        &[("csrf", &csrf), ("pair", &pair.id), ("word", "notaword")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("not the word to expect"), "{html}");
    drop(sockets);
}
