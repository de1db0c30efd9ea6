//! End-to-end: the operational surface (health, metrics, OpenAPI, docs) and the headers every
//! response carries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::json;
use support::{Reply, TestApp, strong_password, unique_email};

fn assert_security_headers(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    let csp = reply
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(reply.header("referrer-policy").is_some(), "{what}");
    let id = reply
        .header("x-request-id")
        .unwrap_or_else(|| panic!("{what}: no X-Request-Id"));
    assert!(!id.is_empty(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_public_and_details_are_for_admins() {
    let app = TestApp::spawn().await;
    let reply = app.get("/health", None).await;
    assert_eq!(reply.expect(200).json()["status"], "ok");

    // No token, a bad token, a user's token: refused.
    let reply = app.get("/health/detailed", None).await;
    reply.problem(401, Some("unauthenticated"));
    app.get("/health/detailed", Some("nonsense"))
        .await
        .problem(401, None);
    let email = unique_email("ops");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;
    let user = app.login(&email, &password).await;
    app.get("/health/detailed", Some(&user.access))
        .await
        .problem(403, Some("forbidden"));

    // An administrator (roles land in tokens at the next login).
    app.make_admin(&id).await;
    app.get("/health/detailed", Some(&user.access))
        .await
        .problem(403, None);
    let admin = app.login(&email, &password).await;
    let reply = app.get("/health/detailed", Some(&admin.access)).await;
    let body = reply.expect(200).json();
    assert_eq!(body["database"]["status"], "ok", "{body}");
    assert_eq!(body["database"]["backend"], "sqlite", "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert!(
        body["signing_keys"]
            .as_array()
            .is_some_and(|k| !k.is_empty()),
        "{body}"
    );
    assert!(!body.to_string().contains(&email), "{body}");
    let me = app
        .get("/v1/me", Some(&admin.access))
        .await
        .expect(200)
        .json();
    assert_eq!(me["roles"], json!(["admin"]), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_logins() {
    let app = TestApp::spawn().await;
    let email = unique_email("metrics");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    app.login(&email, &password).await;
    app.try_login(&email, &strong_password())
        .await
        .problem(401, None);

    let reply = app.get("/metrics", None).await;
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        reply.headers
    );
    let text = &reply.text;
    for needle in [
        "portcullis_http_requests_total",
        "portcullis_logins_total",
        "outcome=\"succeeded\"",
        "outcome=\"failed\"",
        "portcullis_http_request_duration_seconds",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    // Requests are labelled by route template, never by raw path (which could hold ids).
    assert!(
        text.lines()
            .any(|l| l.starts_with("portcullis_http_requests_total")
                && l.contains("path=\"/v1/sessions\"")),
        "{text}"
    );
    assert!(!text.contains(&email), "the metrics name an account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_and_docs_are_served() {
    let app = TestApp::builder().file_mail().spawn().await;
    let reply = app.get("/openapi.json", None).await;
    let doc = reply.expect(200).json();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    for path in [
        "/v1/sessions",
        "/v1/accounts",
        "/v1/accounts/verify",
        "/v1/tokens/refresh",
        "/v1/introspect",
        "/v1/me",
        "/v1/password/forgot",
        "/.well-known/jwks.json",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(doc["paths"]["/v1/sessions"]["post"].is_object());
    assert!(doc["paths"]["/v1/accounts"]["post"].is_object());

    let reply = app.get("/docs", None).await;
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        reply.headers
    );
    assert!(
        reply.text.to_lowercase().contains("<html"),
        "{}",
        reply.text
    );
    assert_security_headers(&reply, "/docs");
    // The page's own assets load from where the page points (relative to its final URL),
    // and none is an inline script the Content-Security-Policy would block.
    let page = reqwest::Url::parse(&reply.url).expect("page URL");
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in reply.text.match_indices(attr) {
            let rest = &reply.text[i + attr.len()..];
            let target = &rest[..rest.find('"').expect("closing quote")];
            assets.push(page.join(target).expect("asset URL"));
        }
    }
    assert!(
        assets.iter().any(|a| a.path().ends_with(".js")),
        "no scripts on {page}: {}",
        reply.text
    );
    assert!(
        !reply.text.contains("<script>"),
        "an inline script, which script-src 'self' blocks: {}",
        reply.text
    );
    let mut initializer = String::new();
    for asset in &assets {
        let r = app.send(app.client.get(asset.clone())).await;
        assert_eq!(r.status.as_u16(), 200, "{asset} (from {page})");
        if asset.path().ends_with("swagger-initializer.js") {
            initializer = r.text.clone();
        }
    }
    assert!(
        initializer.contains("/openapi.json"),
        "the UI does not load our document: {initializer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_security_headers() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.rate_limit.auth_per_ip_per_minute = 1)
        .spawn()
        .await;
    let checks = [
        ("GET /health", app.get("/health", None).await),
        (
            "GET /.well-known/jwks.json",
            app.get("/.well-known/jwks.json", None).await,
        ),
        ("GET /openapi.json", app.get("/openapi.json", None).await),
        ("GET /metrics", app.get("/metrics", None).await),
        ("GET /v1/me (401)", app.get("/v1/me", None).await),
        ("GET /nowhere (404)", app.get("/nowhere", None).await),
        (
            "PUT /health (405)",
            app.send(app.request(Method::PUT, "/health", None)).await,
        ),
        (
            "POST /v1/sessions (400)",
            app.send(
                app.request(Method::POST, "/v1/sessions", None)
                    .header("content-type", "application/json")
                    .body("{"),
            )
            .await,
        ),
        (
            "POST /v1/sessions (401)",
            app.try_login(&unique_email("h"), &strong_password()).await,
        ),
        (
            "POST /v1/sessions (429)",
            app.try_login(&unique_email("h"), &strong_password()).await,
        ),
    ];
    assert_eq!(checks.last().unwrap().1.status.as_u16(), 429);
    for (what, reply) in &checks {
        assert_security_headers(reply, what);
    }

    // The JWKS holds public Ed25519 keys only.
    let jwks = checks[1].1.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["kty"], "OKP", "{k}");
        assert_eq!(k["crv"], "Ed25519", "{k}");
        assert!(k["kid"].is_string(), "{k}");
        assert!(
            k.get("d").is_none(),
            "private key material in the JWKS: {k}"
        );
    }

    // X-Request-Id: echoed when sent, generated (and distinct) when not.
    let reply = app
        .send(
            app.request(Method::GET, "/health", None)
                .header("x-request-id", "trace-me-42"),
        )
        .await;
    assert_eq!(reply.header("x-request-id"), Some("trace-me-42"));
    let a = app.get("/health", None).await;
    let b = app.get("/health", None).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_responses_are_never_cached() {
    let app = TestApp::spawn().await;
    let email = unique_email("cache");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let reply = app.try_login(&email, &password).await;
    reply.expect(201);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = support::Tokens::from_json(&reply.json());
    let reply = app.refresh(&tokens.refresh).await;
    reply.expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = support::Tokens::from_json(&reply.json());
    let reply = app.get("/v1/me", Some(&tokens.access)).await;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let service = app.service_caller().await;
    let reply = app.introspect(Some(&service), &tokens.access).await;
    reply.expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_admits_only_configured_origins() {
    const GOOD: &str = "https://app.example.com";
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.cors.allowed_origins = vec![GOOD.into()])
        .spawn()
        .await;
    let preflight = |origin: &str| {
        app.request(Method::OPTIONS, "/v1/sessions", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
    };
    let reply = app.send(preflight(GOOD)).await;
    assert!(reply.status.is_success(), "{reply:?}");
    assert_eq!(reply.header("access-control-allow-origin"), Some(GOOD));
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    assert_security_headers(&reply, "CORS preflight");

    let reply = app.send(preflight("https://evil.example.com")).await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        None,
        "{reply:?}"
    );
    assert_ne!(reply.header("access-control-allow-origin"), Some("*"));

    let reply = app
        .send(
            app.request(Method::GET, "/health", None)
                .header("origin", GOOD),
        )
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), Some(GOOD));
    let reply = app
        .send(
            app.request(Method::GET, "/health", None)
                .header("origin", "https://evil.example.com"),
        )
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
    // Credentials are bearer tokens, never cookies: no credentialed CORS.
    assert_ne!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_take_a_bearer_token_when_one_is_configured() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.metrics.bearer_token = Some(portcullis_server::config::Secret::from("scrape-me"));
        })
        .spawn()
        .await;
    let reply = app.get("/metrics", None).await;
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    reply.problem(401, Some("unauthenticated"));
    app.get("/metrics", Some("scrape-you"))
        .await
        .problem(401, Some("unauthenticated"));
    let reply = app.get("/metrics", Some("scrape-me")).await;
    reply.expect(200);
    assert!(
        reply.text.contains("portcullis_http_requests_total"),
        "{}",
        reply.text
    );
}
