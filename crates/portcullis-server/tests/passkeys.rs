//! Passkeys end to end with a software authenticator speaking WebAuthn to our API:
//! registration, use as a second factor (with the signature counter kept), step-up, and the
//! refusals of replayed, foreign and malformed assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{TestApp, strong_password, unique_email};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

/// The origin a browser would have: `localhost` on the server's port.
fn origin(app: &TestApp) -> Url {
    Url::parse(&format!("http://localhost:{}", app.server().addr.port())).unwrap()
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

async fn enrol(app: &TestApp, access: &str, authenticator: &mut SoftPasskey) -> String {
    let started = app
        .post(
            "/v1/me/factors/passkey",
            Some(access),
            &json!({ "label": "laptop" }),
        )
        .await
        .expect(201)
        .json();
    let options: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).unwrap();
    assert_eq!(options.public_key.rp.id, "localhost");
    let credential = authenticator.do_registration(origin(app), options).unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    let done = app
        .post(
            &format!("/v1/me/factors/passkey/{id}/finish"),
            Some(access),
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(done.expect(200).json()["confirmed"], true);
    id
}

async fn assertion(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    authenticator: &mut SoftPasskey,
) -> Value {
    let options = app.post(path, bearer, &json!({})).await.expect(200).json();
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    serde_json::to_value(
        authenticator
            .do_authentication(origin(app), options)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_as_second_factor_and_for_step_up() {
    let app = TestApp::builder().file_mail().spawn().await;
    let email = unique_email("passkey");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let first = app.login(&email, &password).await;
    let mut authenticator = SoftPasskey::new(true);
    enrol(&app, &first.access, &mut authenticator).await;

    // A password login now waits for the passkey.
    let pending = app.try_login(&email, &password).await.expect(202).json();
    assert_eq!(pending["factors"], json!(["passkey"]));
    let cid = pending["challenge_id"].as_str().unwrap().to_owned();
    let signed = assertion(
        &app,
        &format!("/v1/sessions/challenges/{cid}/passkey-options"),
        None,
        &mut authenticator,
    )
    .await;
    let done = app
        .post(
            &format!("/v1/sessions/challenges/{cid}"),
            None,
            &json!({ "factor": "passkey", "credential": signed }),
        )
        .await;
    let c = claims(done.expect(201).json()["access_token"].as_str().unwrap());
    assert_eq!(
        (c["acr"].clone(), c["amr"].clone()),
        (json!("aal2"), json!(["pwd", "hwk", "mfa"]))
    );

    // The same assertion cannot answer another challenge: it signed the first one's nonce.
    let again = app.try_login(&email, &password).await.expect(202).json();
    let cid2 = again["challenge_id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/sessions/challenges/{cid2}/passkey-options"),
        None,
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/sessions/challenges/{cid2}"),
        None,
        &json!({ "factor": "passkey", "credential": signed }),
    )
    .await
    .problem(401, Some("invalid-credentials"));
    // A credential of another authenticator is refused.
    let mut stranger = SoftPasskey::new(true);
    let options = app
        .post(
            &format!("/v1/sessions/challenges/{cid2}/passkey-options"),
            None,
            &json!({}),
        )
        .await
        .expect(200)
        .json();
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    assert!(
        stranger.do_authentication(origin(&app), options).is_err(),
        "it holds no allowed credential"
    );
    // Malformed assertions are a 400, not a crash.
    app.post(
        &format!("/v1/sessions/challenges/{cid2}"),
        None,
        &json!({ "factor": "passkey", "credential": { "id": "x" } }),
    )
    .await
    .problem(400, None);

    // Step-up of the first session with the passkey.
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&first.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["passkey"]));
    let sid = step["challenge_id"].as_str().unwrap().to_owned();
    let signed = assertion(
        &app,
        &format!("/v1/sessions/current/step-up/{sid}/passkey-options"),
        Some(&first.access),
        &mut authenticator,
    )
    .await;
    let stepped = app
        .post(
            &format!("/v1/sessions/current/step-up/{sid}"),
            Some(&first.access),
            &json!({ "factor": "passkey", "credential": signed }),
        )
        .await;
    let c = claims(stepped.expect(200).json()["access_token"].as_str().unwrap());
    assert_eq!(
        (c["acr"].clone(), c["amr"].clone()),
        (json!("aal2"), json!(["pwd", "hwk", "mfa"]))
    );

    // The stored credential is sealed: nothing of it shows in the factor list.
    let listed = app
        .get("/v1/me/factors", Some(&first.access))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["factors"][0]["kind"], "passkey");
    assert!(listed["factors"][0].get("secret_ct").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwordless_start_and_refusals() {
    let app = TestApp::builder().file_mail().spawn().await;
    let started = app
        .post("/v1/sessions", None, &json!({ "passkey": true }))
        .await;
    let started = started.expect(202).json();
    assert_eq!(started["factors"], json!(["passkey"]));
    let options: RequestChallengeResponse =
        serde_json::from_value(started["options"].clone()).unwrap();
    assert!(
        options.public_key.allow_credentials.is_empty(),
        "discoverable: no allow list"
    );
    assert_eq!(options.public_key.rp_id, "localhost");
    // An assertion without a user handle (a non-discoverable credential) names nobody.
    let mut authenticator = SoftPasskey::new(true);
    assert!(
        authenticator
            .do_authentication(origin(&app), options)
            .is_err()
    );
    let cid = started["challenge_id"].as_str().unwrap();
    app.post(&format!("/v1/sessions/challenges/{cid}"), None, &json!({ "factor": "passkey", "credential": { "id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": null }, "extensions": {} } }))
        .await
        .problem(401, Some("invalid-credentials"));
    app.post(
        "/v1/sessions",
        None,
        &json!({ "passkey": true, "email": "a@example.com" }),
    )
    .await
    .problem(400, None);
    app.post("/v1/sessions", None, &json!({}))
        .await
        .problem(400, None);
}
