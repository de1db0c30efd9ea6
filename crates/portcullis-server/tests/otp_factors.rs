//! Codes by SMS and e-mail end to end: the Twilio adapter against a local server that checks
//! Twilio's wire format (form-encoded POST to the Messages resource with basic auth), the
//! e-mail channel through the real SMTP receiver, and the bounds on attempts and sends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::{TestApp, strong_password, unique_email};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";
const FROM: &str = "+15005550006";

#[derive(Clone, Default)]
struct Twilio {
    messages: Arc<Mutex<Vec<(String, String)>>>,
}

/// A stand-in for `api.twilio.com` that accepts only what Twilio's API accepts.
async fn messages(
    State(twilio): State<Twilio>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let refuse =
        |code: StatusCode, why: &str| (code, axum::Json(json!({ "code": 20001, "message": why })));
    if sid != SID {
        return refuse(StatusCode::NOT_FOUND, "unknown account");
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return refuse(StatusCode::UNAUTHORIZED, "bad credentials");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return refuse(StatusCode::BAD_REQUEST, "expected a form");
    }
    let form: Vec<(String, String)> = url_form(&body);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(to), Some(from), Some(text)) = (field("To"), field("From"), field("Body")) else {
        return refuse(StatusCode::BAD_REQUEST, "To, From and Body are required");
    };
    if from != FROM || !to.starts_with('+') {
        return refuse(StatusCode::BAD_REQUEST, "bad number");
    }
    twilio
        .messages
        .lock()
        .unwrap()
        .push((to.clone(), text.clone()));
    (
        StatusCode::CREATED,
        axum::Json(
            json!({ "sid": "SM0123", "status": "queued", "to": to, "from": from, "body": text }),
        ),
    )
}

fn url_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn start_twilio() -> (Twilio, String) {
    let twilio = Twilio::default();
    let app = axum::Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
        .with_state(twilio.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (twilio, format!("http://{addr}"))
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

fn last_sms(twilio: &Twilio, to: &str) -> String {
    let messages = twilio.messages.lock().unwrap();
    let (_, text) = messages
        .iter()
        .rev()
        .find(|(t, _)| t == to)
        .expect("a text to that number");
    code_in(text)
}

async fn app_with_twilio(base: &str) -> TestApp {
    let base = base.to_owned();
    TestApp::builder()
        .configure(move |c| {
            c.sms.provider = portcullis_server::sms::SmsProvider::Twilio;
            c.sms.twilio_base_url = base.parse().expect("base URL");
            c.sms.twilio_account_sid = SID.into();
            c.sms.twilio_auth_token = Some(TOKEN.to_owned().into());
            c.sms.from = FROM.into();
        })
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_factor_through_twilio() {
    let (twilio, base) = start_twilio().await;
    let app = app_with_twilio(&base).await;
    let email = unique_email("sms");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;

    // Bad numbers are refused before anything is sent.
    app.post(
        "/v1/me/factors/sms",
        Some(&t.access),
        &json!({ "phone": "555-1234" }),
    )
    .await
    .problem(400, Some("invalid-phone"));
    let phone = "+1 (415) 555-2671";
    let e164 = "+14155552671";
    let f = app
        .post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": phone }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(f["kind"], "sms");
    let code = last_sms(&twilio, e164);
    let fid = f["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);

    // Login: the password first; sending a code before it is refused (no SMS bombing).
    let pending = app
        .post("/v1/sessions", None, &json!({ "email": email }))
        .await
        .expect(202)
        .json();
    let id = pending["challenge_id"].as_str().unwrap();
    let sent_before = twilio.messages.lock().unwrap().len();
    app.post(
        &format!("/v1/sessions/challenges/{id}/send"),
        None,
        &json!({ "factor": "sms" }),
    )
    .await
    .problem(400, Some("factor-not-offered"));
    assert_eq!(twilio.messages.lock().unwrap().len(), sent_before);
    let after_pwd = app
        .post(
            &format!("/v1/sessions/challenges/{id}"),
            None,
            &json!({ "factor": "password", "password": password }),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(after_pwd["factors"], json!(["sms"]));
    let sent = app
        .post(
            &format!("/v1/sessions/challenges/{id}/send"),
            None,
            &json!({ "factor": "sms" }),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(sent["expires_in"], 300);
    let code = last_sms(&twilio, e164);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({ "factor": "sms", "code": wrong }),
    )
    .await
    .problem(401, None);
    let done = app
        .post(
            &format!("/v1/sessions/challenges/{id}"),
            None,
            &json!({ "factor": "sms", "code": code }),
        )
        .await
        .expect(201)
        .json();
    let payload = done["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (claims["acr"].clone(), claims["amr"].clone()),
        (json!("aal2"), json!(["pwd", "sms"]))
    );
    // Nothing the database holds shows the number in clear (it is sealed with the account key).
    let listed = app
        .get("/v1/me/factors", Some(&t.access))
        .await
        .expect(200)
        .json();
    // (Whole number and its distinctive tail: a timestamp such as 1796399555 holds "555".)
    let text = listed.to_string();
    assert!(!text.contains(e164) && !text.contains("2671"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_gateway_is_a_502_and_sends_are_bounded() {
    // Wrong credentials: Twilio refuses, we answer 502 and keep no half-made state usable.
    let (_twilio, base) = start_twilio().await;
    let app = TestApp::builder()
        .configure(move |c| {
            c.sms.provider = portcullis_server::sms::SmsProvider::Twilio;
            c.sms.twilio_base_url = base.parse().expect("base URL");
            c.sms.twilio_account_sid = SID.into();
            c.sms.twilio_auth_token = Some("wrong".to_owned().into());
            c.sms.from = FROM.into();
            c.mfa.otp_max_sends = 2;
        })
        .spawn()
        .await;
    let email = unique_email("sms-fail");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;
    app.post(
        "/v1/me/factors/sms",
        Some(&t.access),
        &json!({ "phone": "+14155550100" }),
    )
    .await
    .problem(502, Some("upstream-failed"));
    app.post(
        "/v1/me/factors/sms",
        Some(&t.access),
        &json!({ "phone": "+14155550100" }),
    )
    .await
    .problem(502, Some("upstream-failed"));
    let limited = app
        .post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": "+14155550100" }),
        )
        .await;
    limited.problem(429, Some("rate-limited"));
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_codes_through_the_real_smtp_server_with_bounded_attempts() {
    // Back-off would answer 429 after three failures; this test counts the challenge's own
    // bound instead.
    let app = TestApp::builder()
        .configure(|c| c.login.free_failures = 100)
        .spawn()
        .await;
    let email = unique_email("email-otp");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;
    let f = app
        .post("/v1/me/factors/email", Some(&t.access), &json!({}))
        .await
        .expect(201)
        .json();
    let mail = support::wait_for_mail(&email, |m| m.subject == "Your Portcullis code").await;
    let code = code_in(&mail.body);
    let fid = f["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);

    let pending = app.try_login(&email, &password).await.expect(202).json();
    assert_eq!(pending["factors"], json!(["email_otp"]));
    let id = pending["challenge_id"].as_str().unwrap();
    let before = support::mails_to(&email).len();
    app.post(
        &format!("/v1/sessions/challenges/{id}/send"),
        None,
        &json!({ "factor": "email_otp" }),
    )
    .await
    .expect(202);
    let mail = support::wait_for_mail(&email, |_| support::mails_to(&email).len() > before).await;
    let _ = mail;
    let latest = support::mails_to(&email).pop().unwrap();
    let code = code_in(&latest.body);
    // Four wrong answers leave the challenge one try, which the right code then takes.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        app.post(
            &format!("/v1/sessions/challenges/{id}"),
            None,
            &json!({ "factor": "email_otp", "code": wrong }),
        )
        .await
        .problem(401, None);
    }
    let done = app
        .post(
            &format!("/v1/sessions/challenges/{id}"),
            None,
            &json!({ "factor": "email_otp", "code": code }),
        )
        .await;
    done.expect(201);
    // Spent: the same code cannot log in again.
    let again = app.try_login(&email, &password).await.expect(202).json();
    let id2 = again["challenge_id"].as_str().unwrap();
    app.post(
        &format!("/v1/sessions/challenges/{id2}"),
        None,
        &json!({ "factor": "email_otp", "code": code }),
    )
    .await
    .problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_through_a_generic_webhook() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let hook = axum::Router::new().route(
        "/sms",
        post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some("Bearer hook-secret")
                    {
                        return StatusCode::UNAUTHORIZED;
                    }
                    sink.lock().unwrap().push(body);
                    StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let app = TestApp::builder()
        .configure(move |c| {
            c.sms.provider = portcullis_server::sms::SmsProvider::Webhook;
            c.sms.webhook_url = Some(url.parse().expect("webhook URL"));
            c.sms.webhook_secret = Some("hook-secret".to_owned().into());
        })
        .spawn()
        .await;
    let email = unique_email("webhook");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let t = app.login(&email, &password).await;
    let f = app
        .post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": "+33 6 12 34 56 78" }),
        )
        .await
        .expect(201)
        .json();
    let message = received
        .lock()
        .unwrap()
        .pop()
        .expect("the webhook got the text");
    assert_eq!(message["to"], "+33612345678");
    let code = code_in(message["body"].as_str().unwrap());
    let fid = f["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);
}
