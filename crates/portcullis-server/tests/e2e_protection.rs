//! End-to-end: rate limits, login back-off, and hostile or malformed input, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use support::{Reply, TestApp, strong_password, unique_email};

/// Asserts a 429 problem whose `Retry-After` is a whole number of seconds in `1..=max`.
fn assert_rate_limited(reply: &Reply, max: u64) -> u64 {
    let body = reply.problem(429, Some("rate-limited"));
    let retry = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", reply.headers));
    let secs: u64 = retry
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After {retry:?} is not delay-seconds"));
    assert!(
        (1..=max).contains(&secs),
        "Retry-After {secs} not in 1..={max}"
    );
    assert_eq!(body["retry_after"], json!(secs), "{body}");
    secs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_requests_are_limited_per_ip() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.rate_limit.auth_per_ip_per_minute = 3)
        .spawn()
        .await;
    // Distinct unknown addresses, so neither the per-account limit nor the back-off applies.
    for _ in 0..3 {
        app.try_login(&unique_email("ip"), &strong_password())
            .await
            .problem(401, Some("invalid-credentials"));
    }
    let reply = app.try_login(&unique_email("ip"), &strong_password()).await;
    assert_rate_limited(&reply, 60);
    // Registration and password reset share the budget.
    let reply = app.register(&unique_email("ip"), &strong_password()).await;
    assert_rate_limited(&reply, 60);
    let reply = app
        .post(
            "/v1/password/forgot",
            None,
            &json!({ "email": unique_email("ip") }),
        )
        .await;
    assert_rate_limited(&reply, 60);
    // Other endpoints are not part of it.
    app.get("/health", None).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_limited_per_ip() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.rate_limit.per_ip_per_minute = 5)
        .spawn()
        .await;
    for _ in 0..5 {
        app.get("/health", None).await.expect(200);
    }
    let reply = app.get("/health", None).await;
    assert_rate_limited(&reply, 60);
    let reply = app.get("/v1/nothing-here", None).await;
    assert_rate_limited(&reply, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_limited_per_account() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.rate_limit.auth_per_ip_per_minute = 1000;
            c.rate_limit.per_account_per_minute = 2;
        })
        .spawn()
        .await;
    let target = unique_email("target");
    for _ in 0..2 {
        app.try_login(&target, &strong_password())
            .await
            .problem(401, None);
    }
    let reply = app.try_login(&target, &strong_password()).await;
    assert_rate_limited(&reply, 60);
    // The same address in other letter case is the same account.
    let reply = app
        .try_login(&target.to_uppercase(), &strong_password())
        .await;
    assert_rate_limited(&reply, 60);
    // Another account is unaffected.
    app.try_login(&unique_email("other"), &strong_password())
        .await
        .problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_back_off_even_for_the_right_password() {
    const BASE: u64 = 3;
    let app = TestApp::builder()
        .configure(|c| {
            c.rate_limit.auth_per_ip_per_minute = 1000;
            c.rate_limit.per_account_per_minute = 1000;
            c.login.backoff_base = Duration::from_secs(BASE);
        })
        .spawn()
        .await;
    let email = unique_email("backoff");
    let password = strong_password();
    app.register_verified(&email, &password).await;

    for _ in 0..3 {
        app.try_login(&email, &strong_password())
            .await
            .problem(401, Some("invalid-credentials"));
    }
    // The fourth attempt waits, whatever the password.
    let reply = app.try_login(&email, &password).await;
    let wait = assert_rate_limited(&reply, BASE);
    // Starting a login without the password is throttled the same way.
    let reply = app
        .post("/v1/sessions", None, &json!({ "email": email }))
        .await;
    assert_rate_limited(&reply, BASE);

    // Back-off is a delay, never a lock: once it has passed, the right password works.
    tokio::time::sleep(Duration::from_secs(wait + 1)).await;
    app.login(&email, &password).await;
}

// ---------------------------------------------------------------- bad input ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_problems() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.max_body_bytes = 1024;
            c.rate_limit.auth_per_ip_per_minute = 1000;
        })
        .spawn()
        .await;
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        app.request(Method::POST, path, None)
            .header("content-type", content_type)
            .body(body)
    };

    // Malformed JSON.
    let reply = app
        .send(raw(
            "/v1/sessions",
            "application/json",
            b"{\"email\": ".to_vec(),
        ))
        .await;
    reply.problem(400, Some("malformed-json"));
    // Wrong content type.
    let reply = app
        .send(raw(
            "/v1/sessions",
            "text/plain",
            br#"{"email":"a@example.com","password":"x"}"#.to_vec(),
        ))
        .await;
    reply.problem(415, Some("unsupported-media-type"));
    let reply = app
        .send(app.request(Method::POST, "/v1/accounts", None).body("{}"))
        .await;
    reply.problem(415, None);
    // Too large.
    let big = json!({ "email": "a@example.com", "password": "p".repeat(2000) }).to_string();
    let reply = app
        .send(raw("/v1/sessions", "application/json", big.into_bytes()))
        .await;
    reply.problem(413, Some("payload-too-large"));
    // Unknown field.
    let reply = app
        .post(
            "/v1/sessions",
            None,
            &json!({ "email": "a@example.com", "password": "x", "admin": true }),
        )
        .await;
    assert!(
        [400, 422].contains(&reply.status.as_u16()),
        "unknown field: {reply:?}"
    );
    reply.problem(reply.status.as_u16(), None);
    // Missing fields, wrong types.
    for body in [
        json!({}),
        json!({ "password": "x" }),
        json!({ "email": 5 }),
        json!({ "email": null }),
        json!([]),
        json!("email"),
    ] {
        let reply = app.post("/v1/sessions", None, &body).await;
        assert!(
            [400, 422].contains(&reply.status.as_u16()),
            "{body}: {reply:?}"
        );
        reply.problem(reply.status.as_u16(), None);
    }
    app.post("/v1/accounts", None, &json!({ "email": "a@example.com" }))
        .await
        .problem(400, None);
    // A bad e-mail address is 400, a weak password 422 with its reason.
    app.register("not an address", &strong_password())
        .await
        .problem(400, Some("invalid-email"));
    let email = unique_email("weakling");
    let local = email.split('@').next().unwrap().to_owned();
    for (password, code) in [
        ("short".to_owned(), "too_short"),
        ("Zq9!".repeat(40), "too_long"),
        (format!("X{local}9!"), "contains_email"),
        ("password123".to_owned(), "too_weak"),
    ] {
        let body = app
            .register(&email, &password)
            .await
            .problem(422, Some("weak-password"));
        assert_eq!(body["code"], code, "{body}");
    }
    // A bad phone number.
    app.post(
        "/v1/accounts",
        None,
        &json!({ "email": email, "password": strong_password(), "phone": "12345" }),
    )
    .await
    .problem(400, Some("invalid-phone"));

    // Challenge ids: garbage is 404.
    app.post(
        "/v1/sessions/challenges/garbage",
        None,
        &json!({ "factor": "password", "password": "x" }),
    )
    .await
    .problem(404, Some("not-found"));
    app.post(
        "/v1/sessions/challenges/..%2F..%2Fetc",
        None,
        &json!({ "factor": "password", "password": "x" }),
    )
    .await
    .problem(404, None);
    // An unknown factor is refused before anything else.
    let reply = app
        .post(
            "/v1/sessions/challenges/garbage",
            None,
            &json!({ "factor": "telepathy" }),
        )
        .await;
    assert!(reply.status.is_client_error(), "{reply:?}");

    // Garbage bearer tokens: 401 with a challenge header.
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", ""] {
        let reply = app.get("/v1/me", Some(token)).await;
        reply.problem(401, Some("unauthenticated"));
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer"),
            "{token:?}"
        );
    }
    let reply = app
        .send(
            app.request(Method::GET, "/v1/me", None)
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    reply.problem(401, None);
    assert!(reply.header("www-authenticate").is_some());
    let reply = app.get("/v1/me", None).await;
    reply.problem(401, None);
    assert!(reply.header("www-authenticate").is_some());

    // Introspection takes a form, and a token in it.
    let service = app.service_caller().await;
    app.send(
        app.request(Method::POST, "/v1/introspect", Some(&service))
            .json(&json!({ "token": service })),
    )
    .await
    .problem(415, None);
    app.send(
        app.request(Method::POST, "/v1/introspect", Some(&service))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("nothing=here"),
    )
    .await
    .problem(400, None);

    // Unknown route, wrong method.
    app.get("/v1/nope", None)
        .await
        .problem(404, Some("not-found"));
    app.get("/nope/../../etc/passwd", None)
        .await
        .problem(404, None);
    app.send(
        app.request(Method::PUT, "/v1/sessions", None)
            .json(&json!({})),
    )
    .await
    .problem(405, Some("method-not-allowed"));
    app.get("/v1/accounts", None)
        .await
        .problem(405, Some("method-not-allowed"));
}

// ------------------------------------------------------------------- timing ----

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// An unknown address and a wrong password for a real one cost the same (the unknown one is
/// checked against a dummy hash), with the production argon2 parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_accounts_cost_as_much_as_wrong_passwords() {
    let app = TestApp::builder()
        .configure(|c| {
            c.password.argon2 = Default::default();
            c.rate_limit.auth_per_ip_per_minute = 10_000;
            c.rate_limit.per_account_per_minute = 10_000;
            c.login.free_failures = 10_000;
        })
        .spawn()
        .await;
    let email = unique_email("timing");
    app.register_verified(&email, &strong_password()).await;
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for round in 0..31 {
        // Interleaved, so drift in machine load hits both alike.
        for which in [round % 2, 1 - round % 2] {
            let address = if which == 0 {
                unique_email("nobody")
            } else {
                email.clone()
            };
            let start = std::time::Instant::now();
            let reply = app.try_login(&address, &strong_password()).await;
            let took = start.elapsed();
            reply.problem(401, Some("invalid-credentials"));
            if round > 0 {
                if which == 0 { &mut unknown } else { &mut known }.push(took);
            }
        }
    }
    let (u, k) = (median(unknown), median(known));
    let (lo, hi) = if u < k { (u, k) } else { (k, u) };
    eprintln!("median login failure: unknown {u:?}, wrong password {k:?}");
    assert!(
        hi.as_secs_f64() <= lo.as_secs_f64() * 1.5 + 0.005,
        "login failures differ in cost: unknown account {u:?}, wrong password {k:?}"
    );
    // And both really ran argon2 with the production parameters (not a shortcut).
    assert!(lo >= Duration::from_millis(5), "suspiciously fast: {lo:?}");
}
