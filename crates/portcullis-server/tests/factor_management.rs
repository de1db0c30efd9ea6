//! Changing second factors needs an authentication at the account's own level (issue 11,
//! NIST SP 800-63B §6.1.2): once an account has a second factor, a session that proved only
//! the password (here, the very session that enrolled it) can neither remove it, nor add
//! another, nor change a phone, nor mint recovery codes; it gets the RFC 9470 step-up
//! challenge, and after a step-up with the factor it can.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::factors::{code_in, enrol_totp, step_up_with_totp, texts};
use support::{Reply, TestApp, strong_password, unique_email};

/// A 401 step-up challenge that asks for two factors (`acr_values="aal2"`) and a recent
/// authentication.
fn assert_needs_aal2(reply: &Reply) {
    reply.problem(401, Some("step-up-required"));
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge:?}"
    );
    assert!(challenge.contains("acr_values=\"aal2\""), "{challenge:?}");
    assert!(challenge.contains("max_age=300"), "{challenge:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_only_session_changes_no_second_factor_until_it_steps_up() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("manage");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;

    // The first second factor is enrolled from the password session, as before; a phone
    // whose enrolment started then is still pending.
    let phone = app
        .post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": "+447700900111" }),
        )
        .await
        .expect(201)
        .json();
    let phone_code = code_in(&texts(&app)[0]);
    let (totp, secret) = enrol_totp(&app, &t.access).await;

    // Now that session may change nothing.
    let texted = texts(&app).len();
    let refusals = [
        app.delete(&format!("/v1/me/factors/{totp}"), Some(&t.access), None)
            .await,
        app.post("/v1/me/recovery-codes", Some(&t.access), &json!({}))
            .await,
        app.post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": "+447700900222" }),
        )
        .await,
        app.post("/v1/me/factors/email", Some(&t.access), &json!({}))
            .await,
        app.post("/v1/me/factors/totp", Some(&t.access), &json!({}))
            .await,
        app.post("/v1/me/factors/passkey", Some(&t.access), &json!({}))
            .await,
        // Nor confirm the phone whose enrolment began before the authenticator existed.
        app.post(
            &format!("/v1/me/factors/{}/confirm", phone["id"].as_str().unwrap()),
            Some(&t.access),
            &json!({ "code": phone_code }),
        )
        .await,
    ];
    for refusal in &refusals {
        assert_needs_aal2(refusal);
    }
    assert_eq!(texts(&app).len(), texted, "nothing was texted");
    let listed = app
        .get("/v1/me/factors", Some(&t.access))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["recovery_codes_left"], 0);
    let confirmed: Vec<&str> = listed["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["confirmed"] == true)
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(confirmed, [totp.as_str()]);

    // A client answering the challenge with its `acr_values` gets a challenge, not the same
    // one-factor token again (without them, `max_age` alone is met by the recent password).
    let asked = json!({ "max_age": 300, "acr_values": "aal2" });
    let step = app
        .post("/v1/sessions/current/step-up", Some(&t.access), &asked)
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["totp"]));
    app.post(
        "/v1/sessions/current/step-up",
        Some(&t.access),
        &json!({ "max_age": 300 }),
    )
    .await
    .expect(200);

    // The step-up the challenge asks for, with the authenticator, raises the same session…
    let raised = step_up_with_totp(&app, &t.access, &secret).await;
    // …which may then confirm the phone, mint recovery codes and remove the authenticator.
    app.post(
        &format!("/v1/me/factors/{}/confirm", phone["id"].as_str().unwrap()),
        Some(&raised),
        &json!({ "code": phone_code }),
    )
    .await
    .expect(200);
    app.post("/v1/me/recovery-codes", Some(&raised), &json!({}))
        .await
        .expect(201);
    app.delete(&format!("/v1/me/factors/{totp}"), Some(&raised), None)
        .await
        .expect(204);
    let kinds: Vec<String> = app.get("/v1/me/factors", Some(&raised)).await.json()["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["sms"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_is_changed_only_after_a_step_up_with_a_texted_code() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("phone-change");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;
    let old = app
        .post(
            "/v1/me/factors/sms",
            Some(&t.access),
            &json!({ "phone": "+447700900333" }),
        )
        .await
        .expect(201)
        .json();
    let old_id = old["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{old_id}/confirm"),
        Some(&t.access),
        &json!({ "code": code_in(&texts(&app)[0]) }),
    )
    .await
    .expect(200);

    // The password session may neither put another number in nor take this one out.
    let new_number = json!({ "phone": "+447700900444" });
    assert_needs_aal2(
        &app.post("/v1/me/factors/sms", Some(&t.access), &new_number)
            .await,
    );
    assert_needs_aal2(
        &app.delete(&format!("/v1/me/factors/{old_id}"), Some(&t.access), None)
            .await,
    );
    assert_eq!(texts(&app).len(), 1, "nothing was texted to the new number");

    // A step-up with a code texted to the old number…
    let step = app
        .post("/v1/sessions/current/step-up", Some(&t.access), &json!({}))
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["sms"]));
    let sid = step["challenge_id"].as_str().unwrap();
    app.post(
        &format!("/v1/sessions/current/step-up/{sid}/send"),
        Some(&t.access),
        &json!({ "factor": "sms" }),
    )
    .await
    .expect(202);
    let code = code_in(texts(&app).last().unwrap());
    let raised = app
        .post(
            &format!("/v1/sessions/current/step-up/{sid}"),
            Some(&t.access),
            &json!({ "factor": "sms", "code": code }),
        )
        .await
        .expect(200)
        .json();
    let raised = raised["access_token"].as_str().unwrap();
    // …lets the session move to the new number.
    let new = app
        .post("/v1/me/factors/sms", Some(raised), &new_number)
        .await
        .expect(201)
        .json();
    let sent = texts(&app);
    assert!(sent.last().unwrap().starts_with("To: +447700900444\n"));
    app.post(
        &format!("/v1/me/factors/{}/confirm", new["id"].as_str().unwrap()),
        Some(raised),
        &json!({ "code": code_in(sent.last().unwrap()) }),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/me/factors/{old_id}"), Some(raised), None)
        .await
        .expect(204);
}

mod pages {
    //! The same rule on `/security`: the refusal becomes the step-up forms, which ask for
    //! the authenticator (not the password), and the raised session then makes the change.

    use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
    use reqwest::{Client, Response, StatusCode};

    use super::support::factors::{enrol_totp, unix_now};
    use super::support::{TestApp, strong_password, unique_email};
    use portcullis_core::factor::totp::STEP_SECS;

    fn no_redirects() -> Client {
        Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    async fn post_form(
        app: &TestApp,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect();
        no_redirects()
            .post(app.url(path))
            .header(COOKIE, cookie)
            .header(ORIGIN, app.base.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap()
    }

    fn hidden_of(html: &str, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {html}"))
            + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn removing_the_authenticator_on_the_page_goes_through_a_step_up_with_it() {
        let app = TestApp::builder().file_mail().spawn().await;
        let email = unique_email("page-manage");
        let password = strong_password();
        app.register_active(&email, &password).await;
        let t = app.login(&email, &password).await;
        let (totp, secret) = enrol_totp(&app, &t.access).await;
        let cookie = format!("portcullis_at={}; portcullis_rt={}", t.access, t.refresh);
        let page = no_redirects()
            .get(app.url("/security"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_of(&page, "csrf");

        let refused = post_form(
            &app,
            "/security/factors/remove",
            &cookie,
            &[("csrf", &csrf), ("factor", &totp)],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::OK);
        let html = refused.text().await.unwrap();
        assert!(html.contains("Confirm it is you"), "{html}");
        assert!(html.contains(r#"name="factor" value="totp""#), "{html}");
        assert!(
            !html.contains(r#"name="factor" value="password""#),
            "{html}"
        );
        let challenge = hidden_of(&html, "challenge");

        let code = secret.code_at(unix_now() + STEP_SECS).unwrap();
        let stepped = post_form(
            &app,
            "/security/step-up",
            &cookie,
            &[
                ("csrf", &csrf),
                ("challenge", &challenge),
                ("factor", "totp"),
                ("code", &code),
            ],
        )
        .await;
        assert_eq!(stepped.status(), StatusCode::SEE_OTHER);
        assert_eq!(stepped.headers()[LOCATION], "/security?notice=stepped-up");
        let raised = stepped
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.strip_prefix("portcullis_at="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .next()
            .expect("a raised access token");

        let cookie = format!("portcullis_at={raised}; portcullis_rt={}", t.refresh);
        let removed = post_form(
            &app,
            "/security/factors/remove",
            &cookie,
            &[("csrf", &csrf), ("factor", &totp)],
        )
        .await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            removed.headers()[LOCATION],
            "/security?notice=factor-removed"
        );
        let listed = app.get("/v1/me/factors", Some(&raised)).await.json();
        assert_eq!(listed["factors"], serde_json::json!([]));
    }
}
