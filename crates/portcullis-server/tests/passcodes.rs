//! Image and gesture passcodes through the API (issue 12, parts 1 and 2), on SQLite and
//! PostgreSQL: enrolment and its refusals with their reasons, a login and a step-up with
//! each, a re-encoded image or a changed gesture refused, failures counted towards the
//! back-off like a password's, and a scan of what the database keeps after enrolment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::passcodes::{
    contains, database_bytes, enrol_image, image_and_reencoded, image_answer, multipart, sha256,
};
use support::{Backend, TestApp, Tokens, strong_password, unique_email};

const GESTURE: &str = "click@5 dblclick@1 scrollup@9 rightclick@3 click@7 scrolldown@2";

async fn app(backend: Backend) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| c.login.free_failures = 3)
        .spawn()
        .await
}

/// A login of `email` that the password took to its second factor: the challenge id.
async fn second_factor_challenge(app: &TestApp, email: &str, password: &str, want: &str) -> String {
    let pending = app
        .post(
            "/v1/sessions",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
        .expect(202)
        .json();
    let offered: Vec<&str> = pending["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(offered.contains(&want), "{pending}");
    pending["challenge_id"].as_str().unwrap().to_owned()
}

fn claims(access: &str) -> Value {
    use base64::Engine as _;
    let payload = access.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn image_passcode(backend: Backend) {
    let app = app(backend).await;
    let email = unique_email("image");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;
    let (image, reencoded) = image_and_reencoded(7);

    let enrolled = enrol_image(&app, &t.access, &image)
        .await
        .expect(201)
        .json();
    assert_eq!(enrolled["kind"], "image", "{enrolled}");
    assert_eq!(enrolled["confirmed"], true, "{enrolled}");
    assert_eq!(enrolled["label"], "Holiday", "{enrolled}");
    let listed = app
        .get("/v1/me/factors", Some(&t.access))
        .await
        .expect(200)
        .json();
    assert!(listed.to_string().contains("\"image\""), "{listed}");
    assert!(!listed.to_string().contains("secret"), "{listed}");

    // Neither the image, nor its SHA-256 (raw or hex), is anywhere in the database.
    let digest = sha256(&image);
    for blob in database_bytes(&app).await {
        assert!(!contains(&blob, &image[..256]), "image bytes stored");
        assert!(!contains(&blob, &digest), "image SHA-256 stored");
        assert!(
            !contains(&blob, hex::encode(&digest).as_bytes()),
            "image SHA-256 (hex) stored"
        );
    }

    // The same picture in other bytes, and one flipped bit, are refused.
    let id = second_factor_challenge(&app, &email, &password, "image").await;
    let path = format!("/v1/sessions/challenges/{id}");
    app.post(&path, None, &image_answer(&reencoded))
        .await
        .problem(401, Some("invalid-credentials"));
    let mut flipped = image.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    app.post(&path, None, &image_answer(&flipped))
        .await
        .problem(401, Some("invalid-credentials"));
    // The exact file signs in, at AAL2: a file held is a second kind of factor.
    let body = app
        .post(&path, None, &image_answer(&image))
        .await
        .expect(201)
        .json();
    let signed_in = Tokens::from_json(&body);
    let c = claims(&signed_in.access);
    assert_eq!(c["acr"], "aal2", "{c}");
    assert_eq!(c["amr"], json!(["pwd", "swk"]), "{c}");

    // Step-up with the image.
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&signed_in.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["image"]), "{step}");
    let sid = step["challenge_id"].as_str().unwrap();
    let answer = format!("/v1/sessions/current/step-up/{sid}");
    app.post(&answer, Some(&signed_in.access), &image_answer(&reencoded))
        .await
        .problem(401, Some("invalid-credentials"));
    let raised = app
        .post(&answer, Some(&signed_in.access), &image_answer(&image))
        .await
        .expect(200)
        .json();
    assert_eq!(
        claims(raised["access_token"].as_str().unwrap())["acr"],
        "aal2"
    );

    // Removable like every factor, by a fresh AAL2 session.
    let fid = enrolled["id"].as_str().unwrap();
    app.delete(
        &format!("/v1/me/factors/{fid}"),
        Some(&signed_in.access),
        None,
    )
    .await
    .expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_passcode_on_sqlite() {
    image_passcode(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_passcode_on_postgres() {
    image_passcode(Backend::Postgres).await;
}

async fn gesture_passcode(backend: Backend) {
    let app = app(backend).await;
    let email = unique_email("gesture");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;

    let weak = app
        .post(
            "/v1/me/factors/gesture",
            Some(&t.access),
            &json!({ "gesture": "click@1 click@2 click@3 click@4 click@5 click@6" }),
        )
        .await
        .problem(400, Some("invalid-gesture"));
    assert!(
        weak["detail"].as_str().unwrap().contains("common shape"),
        "{weak}"
    );
    let repeated = app
        .post(
            "/v1/me/factors/gesture",
            Some(&t.access),
            &json!({ "gesture": "click@1 click@1 click@1 click@1 click@1 click@1" }),
        )
        .await
        .problem(400, Some("invalid-gesture"));
    assert!(
        repeated["detail"]
            .as_str()
            .unwrap()
            .contains("three different"),
        "{repeated}"
    );
    app.post(
        "/v1/me/factors/gesture",
        Some(&t.access),
        &json!({ "gesture": "click@1 tap@2" }),
    )
    .await
    .problem(400, Some("invalid-gesture"));

    let enrolled = app
        .post(
            "/v1/me/factors/gesture",
            Some(&t.access),
            &json!({ "gesture": GESTURE }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(enrolled["kind"], "gesture", "{enrolled}");
    assert_eq!(enrolled["confirmed"], true, "{enrolled}");

    for blob in database_bytes(&app).await {
        assert!(
            !contains(&blob, GESTURE.as_bytes()),
            "gesture stored in clear"
        );
        assert!(
            !contains(&blob, b"dblclick@1"),
            "gesture events stored in clear"
        );
    }

    // One event changed is another gesture.
    let id = second_factor_challenge(&app, &email, &password, "gesture").await;
    let path = format!("/v1/sessions/challenges/{id}");
    let changed = GESTURE.replace("scrollup@9", "scrolldown@9");
    app.post(
        &path,
        None,
        &json!({ "factor": "gesture", "gesture": changed }),
    )
    .await
    .problem(401, Some("invalid-credentials"));
    // Whitespace is not part of it: the canonical form is.
    let spaced = format!("  {}  ", GESTURE.replace(' ', "   "));
    let body = app
        .post(
            &path,
            None,
            &json!({ "factor": "gesture", "gesture": spaced }),
        )
        .await
        .expect(201)
        .json();
    let signed_in = Tokens::from_json(&body);
    let c = claims(&signed_in.access);
    // Two things known are one kind of factor: not AAL2.
    assert_eq!(c["acr"], "aal1", "{c}");
    assert_eq!(c["amr"], json!(["pwd", "kba"]), "{c}");

    // Step-up with the gesture; the session stays at AAL1.
    let step = app
        .post(
            "/v1/sessions/current/step-up",
            Some(&signed_in.access),
            &json!({}),
        )
        .await
        .expect(202)
        .json();
    assert_eq!(step["factors"], json!(["gesture"]), "{step}");
    let sid = step["challenge_id"].as_str().unwrap();
    let raised = app
        .post(
            &format!("/v1/sessions/current/step-up/{sid}"),
            Some(&signed_in.access),
            &json!({ "factor": "gesture", "gesture": GESTURE }),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        claims(raised["access_token"].as_str().unwrap())["acr"],
        "aal1"
    );

    // An AAL1 account level: the gesture session may still remove its gesture.
    let fid = enrolled["id"].as_str().unwrap();
    app.delete(
        &format!("/v1/me/factors/{fid}"),
        Some(&signed_in.access),
        None,
    )
    .await
    .expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gesture_passcode_on_sqlite() {
    gesture_passcode(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gesture_passcode_on_postgres() {
    gesture_passcode(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_uploads_are_refused_with_their_reason() {
    let app = app(Backend::Sqlite).await;
    let email = unique_email("image-rules");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;
    let (image, _) = image_and_reencoded(9);

    let gif = [b"GIF89a".as_slice(), &[0u8; 5000]].concat();
    enrol_image(&app, &t.access, &gif)
        .await
        .problem(415, Some("unsupported-image-type"));
    let tiny = support::passcodes::encode_png(8, &support::passcodes::pixels(8, 1), false);
    let body = enrol_image(&app, &t.access, &tiny)
        .await
        .problem(400, Some("invalid-image"));
    assert!(body["detail"].as_str().unwrap().contains("4 KiB"), "{body}");
    let body = enrol_image(&app, &t.access, &image[..image.len() / 2])
        .await
        .problem(400, Some("invalid-image"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{body}"
    );
    // Just over 5 MiB fits the route's body limit but not the rule; far over, not the limit.
    let mut big = image.clone();
    big.resize(5 * 1024 * 1024 + 1, 0);
    enrol_image(&app, &t.access, &big)
        .await
        .problem(413, Some("image-too-large"));
    big.resize(6 * 1024 * 1024, 0);
    enrol_image(&app, &t.access, &big).await.problem(413, None);
    // No file field; not a multipart form.
    let (ty, form) = multipart(&[("label", None, b"x")]);
    let reply = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/v1/me/factors/image",
                Some(&t.access),
            )
            .header("content-type", ty)
            .body(form),
        )
        .await;
    reply.problem(400, Some("invalid-body"));
    let reply = app
        .post("/v1/me/factors/image", Some(&t.access), &json!({}))
        .await;
    reply.problem(415, None);
    // Other routes keep the small limit.
    let padded = json!({ "display_name": "x".repeat(200 * 1024) });
    app.patch("/v1/me", Some(&t.access), &padded)
        .await
        .problem(413, None);
    // Nothing was enrolled.
    let listed = app
        .get("/v1/me/factors", Some(&t.access))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["factors"], json!([]), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passcodes_count_towards_the_back_off_like_passwords() {
    let app = app(Backend::Sqlite).await;
    let email = unique_email("image-backoff");
    let password = strong_password();
    app.register_active(&email, &password).await;
    let t = app.login(&email, &password).await;
    let (image, reencoded) = image_and_reencoded(11);
    enrol_image(&app, &t.access, &image).await.expect(201);

    for _ in 0..3 {
        let id = second_factor_challenge(&app, &email, &password, "image").await;
        app.post(
            &format!("/v1/sessions/challenges/{id}"),
            None,
            &image_answer(&reencoded),
        )
        .await
        .problem(401, Some("invalid-credentials"));
    }
    // Three failures are free (`free_failures = 3`); now the account waits, the right
    // password included.
    let reply = app
        .post(
            "/v1/sessions",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await;
    reply.problem(429, Some("rate-limited"));
    assert!(reply.header("retry-after").is_some());
}
