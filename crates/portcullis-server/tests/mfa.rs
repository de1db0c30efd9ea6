//! Second factors end to end: an authenticator app enrolled from our `otpauth://` URI by a
//! client we did not write (Python `pyotp`), logins that then need it, replayed codes
//! refused, recovery codes that work once and are mailed about, and step-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{TestApp, require_env, strong_password, unique_email};

/// The code `pyotp` computes from `uri` for the time step `offset_steps` away from now.
async fn pyotp_code(uri: &str, offset_steps: i64) -> String {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = "import sys, time, pyotp\n\
                  t = pyotp.parse_uri(sys.argv[1])\n\
                  print(t.at(time.time() + 30 * int(sys.argv[2])))";
    let out = tokio::process::Command::new(python)
        .args(["-c", script, uri, &offset_steps.to_string()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn answer(app: &TestApp, challenge: &Value, body: Value) -> support::Reply {
    let id = challenge["challenge_id"].as_str().unwrap();
    app.post(&format!("/v1/sessions/challenges/{id}"), None, &body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_and_recovery_codes_end_to_end() {
    let app = TestApp::builder()
        .configure(|c| c.mfa.fresh_auth = std::time::Duration::from_secs(3))
        .spawn()
        .await;
    let email = unique_email("mfa");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let first = app.login(&email, &password).await;

    // Enrol: secret, otpauth URI and QR codes, shown once.
    let enrol = app
        .post(
            "/v1/me/factors/totp",
            Some(&first.access),
            &json!({ "label": "phone" }),
        )
        .await;
    let enrol = enrol.expect(201).json();
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Portcullis:"), "{uri}");
    assert!(uri.contains(&format!("secret={}", enrol["secret"].as_str().unwrap())));
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(
        enrol["qr_png"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0KGgo")
    );
    let factor_id = enrol["id"].as_str().unwrap().to_owned();

    // A wrong code does not confirm; pyotp's code from our URI does.
    app.post(
        &format!("/v1/me/factors/{factor_id}/confirm"),
        Some(&first.access),
        &json!({ "code": "000000" }),
    )
    .await
    .problem(400, Some("invalid-code"));
    let code = pyotp_code(uri, 0).await;
    let confirmed = app
        .post(
            &format!("/v1/me/factors/{factor_id}/confirm"),
            Some(&first.access),
            &json!({ "code": code }),
        )
        .await;
    assert_eq!(confirmed.expect(200).json()["confirmed"], true);
    // The session that proved only the password may not mint recovery codes now that the
    // account has a second factor (issue 11): it must step up first.
    app.post("/v1/me/recovery-codes", Some(&first.access), &json!({}))
        .await
        .problem(401, Some("step-up-required"));

    // The password alone no longer logs in: a challenge asks for the second factor.
    let pending = app.try_login(&email, &password).await;
    let pending = pending.expect(202).json();
    assert_eq!(pending["factors"], json!(["totp"]));
    // The confirmation code is spent: replaying it fails.
    answer(&app, &pending, json!({ "factor": "totp", "code": code }))
        .await
        .problem(401, Some("invalid-credentials"));
    // The next step's code (one step of drift is allowed) completes the login at AAL2.
    let next = pyotp_code(uri, 1).await;
    let done = answer(&app, &pending, json!({ "factor": "totp", "code": next })).await;
    let tokens = done.expect(201).json();
    let aal2 = tokens["access_token"].as_str().unwrap();
    let c = claims(aal2);
    assert_eq!(c["acr"], "aal2");
    assert_eq!(c["amr"], json!(["pwd", "otp"]));
    // That session may mint recovery codes.
    let codes = app
        .post("/v1/me/recovery-codes", Some(aal2), &json!({}))
        .await;
    let codes: Vec<String> =
        serde_json::from_value(codes.expect(201).json()["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let listed = app
        .get("/v1/me/factors", Some(&first.access))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["recovery_codes_left"], 10);
    assert_eq!(listed["factors"][0]["kind"], "totp");
    assert!(
        listed
            .to_string()
            .find(enrol["secret"].as_str().unwrap())
            .is_none(),
        "secret listed"
    );
    // …and the code that logged in cannot be used again either.
    let again = app.try_login(&email, &password).await.expect(202).json();
    assert_eq!(again["factors"], json!(["totp", "recovery_code"]));
    answer(&app, &again, json!({ "factor": "totp", "code": next }))
        .await
        .problem(401, None);

    // A recovery code works once (in any case and spacing), and its use is mailed.
    let recovery = codes[3].to_uppercase().replace('-', " ");
    let done = answer(
        &app,
        &again,
        json!({ "factor": "recovery_code", "code": recovery }),
    )
    .await;
    assert_eq!(
        claims(done.expect(201).json()["access_token"].as_str().unwrap())["acr"],
        "aal2"
    );
    let third = app.try_login(&email, &password).await.expect(202).json();
    answer(
        &app,
        &third,
        json!({ "factor": "recovery_code", "code": codes[3] }),
    )
    .await
    .problem(401, None);
    let mail =
        support::wait_for_mail(&email, |m| m.subject.contains("recovery code was used")).await;
    assert!(mail.body.contains("9 code(s) remain"), "{}", mail.body);

    // Step-up of the first (password-only) session with a recovery code.
    assert_eq!(claims(&first.access)["acr"], "aal1");
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&first.access),
            &json!({}),
        )
        .await;
    let step = step.expect(202).json();
    assert_eq!(step["factors"], json!(["totp", "recovery_code"]));
    let id = step["challenge_id"].as_str().unwrap();
    // Only that session may answer it.
    app.post(
        &format!("/v1/sessions/challenges/{id}"),
        None,
        &json!({ "factor": "recovery_code", "code": codes[5] }),
    )
    .await
    .problem(410, None);
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{id}"),
            Some(&first.access),
            &json!({ "factor": "recovery_code", "code": codes[5] }),
        )
        .await;
    let stepped = stepped.expect(200).json();
    assert!(stepped.get("refresh_token").is_none());
    let c = claims(stepped["access_token"].as_str().unwrap());
    assert_eq!(
        (c["acr"].clone(), c["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp"]))
    );
    assert!(
        c["auth_time"].as_i64().unwrap() >= claims(&first.access)["auth_time"].as_i64().unwrap()
    );
    assert_eq!(c["sid"], first.session_id.as_str());
    // The session's refresh token now yields tokens at the raised assurance.
    let refreshed = app.refresh(&first.refresh).await.expect(200).json();
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["acr"],
        "aal2"
    );
    let fresh_access = refreshed["access_token"].as_str().unwrap().to_owned();
    // With max_age satisfied, step-up answers at once.
    let quick = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&fresh_access),
            &json!({ "max_age": 600 }),
        )
        .await;
    quick.expect(200);

    // Removing the factor needs a fresh authentication (RFC 9470 challenge when stale).
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let stale = app
        .delete(
            &format!("/v1/me/factors/{factor_id}"),
            Some(&fresh_access),
            None,
        )
        .await;
    stale.problem(401, Some("step-up-required"));
    let challenge = stale.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("max_age=3"), "{challenge}");
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&fresh_access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    let id = step["challenge_id"].as_str().unwrap();
    // (The authenticator's current steps were spent by the logins above, so a recovery
    // code proves the fresh factor here.)
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{id}"),
            Some(&fresh_access),
            &json!({ "factor": "recovery_code", "code": codes[6] }),
        )
        .await;
    let token = stepped.expect(200).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/v1/me/factors/{factor_id}"), Some(&token), None)
        .await
        .expect(204);
    let listed = app
        .get("/v1/me/factors", Some(&token))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["factors"], json!([]));
    // Recovery codes remain a second factor until they are used up or replaced.
    let pending = app.try_login(&email, &password).await.expect(202).json();
    assert_eq!(pending["factors"], json!(["recovery_code"]));

    // Every factor event is in the audit log (never a code or secret) and in the metrics.
    let records = app
        .server()
        .state
        .ledgers()
        .audit
        .page(0, 10_000)
        .await
        .unwrap();
    let events: Vec<&str> = records.iter().map(|r| r.event.event.as_str()).collect();
    for expected in [
        "factor.enrolment_started",
        "factor.confirm_failed",
        "factor.enrolled",
        "factor.recovery_codes_generated",
        "factor.used",
        "factor.recovery_code_used",
        "login.failed",
        "session.stepped_up",
        "factor.removed",
    ] {
        assert!(events.contains(&expected), "no {expected} in {events:?}");
    }
    let logged = format!("{records:?}");
    assert!(!logged.contains(enrol["secret"].as_str().unwrap()));
    assert!(!logged.contains(&codes[3]) && !logged.contains(&next));
    let metrics = app.get("/metrics", None).await.text;
    for needle in [
        "portcullis_factor_events_total",
        "event=\"enrolled\"",
        "event=\"replayed\"",
        "portcullis_step_ups_total",
    ] {
        assert!(metrics.contains(needle), "no {needle} in metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factor_endpoints_refuse_bad_input() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("mfa-bad");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;

    app.get("/v1/me/factors", None).await.problem(401, None);
    app.post(
        "/v1/me/factors/totp",
        Some(&t.access),
        &json!({ "label": "" }),
    )
    .await
    .problem(400, Some("invalid-label"));
    app.post(
        "/v1/me/factors/totp",
        Some(&t.access),
        &json!({ "label": "x".repeat(65) }),
    )
    .await
    .problem(400, Some("invalid-label"));
    app.post(
        "/v1/me/factors/nope/confirm",
        Some(&t.access),
        &json!({ "code": "123456" }),
    )
    .await
    .problem(404, None);
    app.delete("/v1/me/factors/nope", Some(&t.access), None)
        .await
        .problem(404, None);
    let enrol = app
        .post("/v1/me/factors/totp", Some(&t.access), &json!({}))
        .await
        .expect(201)
        .json();
    let fid = enrol["id"].as_str().unwrap();
    for code in ["", "abcdef", "1234567", "１２３４５６", &"9".repeat(5000)] {
        app.post(
            &format!("/v1/me/factors/{fid}/confirm"),
            Some(&t.access),
            &json!({ "code": code }),
        )
        .await
        .problem(400, None);
    }
    // Unconfirmed, it changes nothing about logging in.
    app.login(&email, &password).await;
    // Challenge answers of unknown shape are refused.
    let pending = app
        .post("/v1/sessions", None, &json!({ "email": email }))
        .await
        .expect(202)
        .json();
    answer(
        &app,
        &pending,
        json!({ "factor": "telepathy", "code": "1" }),
    )
    .await
    .problem(400, None);
    answer(
        &app,
        &pending,
        json!({ "factor": "totp", "code": "123456" }),
    )
    .await
    .problem(400, Some("factor-not-offered"));
    app.post(
        "/v1/sessions/current/step-up",
        Some(&t.access),
        &json!({ "max_age": -1 }),
    )
    .await
    .problem(400, Some("invalid-max-age"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_policy_decides_which_factors_count_and_when_mfa_is_mandatory() {
    use portcullis_core::login::FactorKind;
    let app = TestApp::builder()
        .configure(|c| {
            c.login.required_factors.insert("admin".into(), 2);
            c.login
                .mfa_factors
                .insert("admin".into(), vec![FactorKind::Totp, FactorKind::Passkey]);
        })
        .spawn()
        .await;
    let password = strong_password();

    // An admin with no second factor at all cannot log in with the password alone: the
    // login waits for the enrolment of one the role accepts (tests/enrolment_at_login.rs).
    let bare = unique_email("admin-bare");
    let id = app.register_verified(&bare, &password).await;
    app.set_roles(&id, &["admin"]).await;
    let pending = app.try_login(&bare, &password).await.expect(202).json();
    assert_eq!(pending["state"], "enrolment_required", "{pending}");
    assert_eq!(
        pending["enrolment"]["factors"],
        json!(["totp"]),
        "{pending}"
    );

    // An admin whose only factor is an e-mail code (not accepted for admins) is refused:
    // enrolling another beside it with the password alone would go around it.
    let mailer = unique_email("admin-mail");
    let id = app.register_verified(&mailer, &password).await;
    let t = app.login(&mailer, &password).await;
    let f = app
        .post("/v1/me/factors/email", Some(&t.access), &json!({}))
        .await
        .expect(201)
        .json();
    let mail = support::wait_for_mail(&mailer, |m| m.subject == "Your Portcullis code").await;
    let code: String = mail
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let fid = f["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "code": code }),
    )
    .await
    .expect(200);
    // Before the role, the e-mail code is a second factor like any other.
    let pending = app.try_login(&mailer, &password).await.expect(202).json();
    assert_eq!(pending["factors"], json!(["email_otp"]));
    app.set_roles(&id, &["admin"]).await;
    app.try_login(&mailer, &password)
        .await
        .problem(403, Some("forbidden"));

    // An admin with TOTP gets a challenge offering only what the policy accepts.
    let totp_admin = unique_email("admin-totp");
    let id = app.register_verified(&totp_admin, &password).await;
    let t = app.login(&totp_admin, &password).await;
    let enrol = app
        .post("/v1/me/factors/totp", Some(&t.access), &json!({}))
        .await
        .expect(201)
        .json();
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    let fid = enrol["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{fid}/confirm"),
        Some(&t.access),
        &json!({ "code": pyotp_code(uri, 0).await }),
    )
    .await
    .expect(200);
    // New recovery codes need a session that proved the authenticator (issue 11).
    let step = app
        .post("/v1/sessions/current/step-up", Some(&t.access), &json!({}))
        .await
        .expect(202)
        .json();
    let sid = step["challenge_id"].as_str().unwrap();
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{sid}"),
            Some(&t.access),
            &json!({ "factor": "totp", "code": pyotp_code(uri, 1).await }),
        )
        .await
        .expect(200)
        .json();
    let aal2 = stepped["access_token"].as_str().unwrap();
    app.post("/v1/me/recovery-codes", Some(aal2), &json!({}))
        .await
        .expect(201);
    app.set_roles(&id, &["admin"]).await;
    let pending = app
        .try_login(&totp_admin, &password)
        .await
        .expect(202)
        .json();
    assert_eq!(
        pending["factors"],
        json!(["totp"]),
        "recovery codes do not count for admins"
    );
}
