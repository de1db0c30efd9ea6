//! Forward-auth behind a real nginx (`auth_request`): nginx asks `GET /v1/forward-auth`
//! before every request and passes the identity headers to a small upstream that echoes them.
//! `scripts/test` installs Debian's nginx-light and exports `PORTCULLIS_TEST_NGINX`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::Router;
use axum::http::HeaderMap;
use portcullis_core::token::Expectation;
use portcullis_server::services::forward_auth::{ForwardAuthConfig, Rule};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{TestApp, require_env, strong_password, unique_email};

const HOST: &str = "app.test";

fn rule(prefix: &str, audience: Option<&str>) -> Rule {
    Rule {
        host: Some(HOST.into()),
        path_prefix: prefix.into(),
        methods: Vec::new(),
        audience: audience.map(str::to_owned),
        roles: Vec::new(),
        acr: None,
        max_age: None,
        public: false,
    }
}

fn rules() -> ForwardAuthConfig {
    let mut admin = rule("/admin", Some("admin-svc"));
    admin.roles = vec!["admin".into()];
    let mut secure = rule("/secure", Some("ledger"));
    secure.acr = Some("aal2".into());
    secure.max_age = Some(300);
    let mut public = rule("/public", None);
    public.public = true;
    ForwardAuthConfig {
        token_ttl: Duration::from_secs(60),
        rules: vec![admin, secure, public, rule("/api", Some("ledger-api"))],
    }
}

/// An upstream that counts its calls and echoes the `x-portcullis-*` headers as JSON.
async fn upstream(calls: Arc<AtomicUsize>) -> u16 {
    let app = Router::new().fallback(move |headers: HeaderMap| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let seen: serde_json::Map<String, Value> = headers
                .iter()
                .filter(|(k, _)| k.as_str().starts_with("x-portcullis-"))
                .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or_default())))
                .collect();
            axum::Json(Value::Object(seen))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// A running nginx; stopped (`-s stop`) when dropped.
struct Nginx {
    bin: String,
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Nginx {
    fn conf(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    async fn start(portcullis: &str, upstream: u16) -> Nginx {
        let bin = require_env("PORTCULLIS_TEST_NGINX");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            dir.path().join("nginx.conf"),
            config(dir.path(), port, portcullis, upstream),
        )
        .unwrap();
        let child = Command::new(&bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx {
            bin,
            dir,
            child,
            port,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return nginx;
            }
            if let Some(status) = nginx.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(nginx.dir.path().join("error.log"));
                panic!("nginx exited with {status}: {log:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen on port {port}");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.conf())
            .args(["-s", "stop"])
            .stderr(Stdio::null())
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration a deployment would use, with every path in `dir`. As root, the master
/// needs a worker user; `root` can read the private temp dir.
fn config(dir: &Path, port: u16, portcullis: &str, upstream: u16) -> String {
    let d = dir.display();
    let identity = ["subject", "roles", "session", "token"]
        .iter()
        .map(|h| {
            format!(
                "auth_request_set $pc_{h} $upstream_http_x_portcullis_{h};\n            \
                 proxy_set_header X-Portcullis-{h} $pc_{h};\n            "
            )
        })
        .collect::<String>();
    format!(
        r#"
daemon off;
master_process on;
worker_processes 1;
user root root;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name {HOST};
        location = /_auth {{
            internal;
            proxy_pass {portcullis}/v1/forward-auth;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Host $host;
        }}
        location / {{
            auth_request /_auth;
            {identity}proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"#
    )
}

struct Setup {
    app: TestApp,
    nginx: Nginx,
    calls: Arc<AtomicUsize>,
    http: reqwest::Client,
}

impl Setup {
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("http://127.0.0.1:{}{path}", self.nginx.port))
            .header("host", HOST);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Calls the upstream has seen so far.
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Verifies the internal token with the server's keys for `audience`.
    fn verify(&self, token: &str, audience: &str) -> portcullis_core::token::AccessClaims {
        let state = &self.app.server().state;
        let expect = Expectation {
            issuer: state.issuer(),
            audience,
            leeway_secs: 0,
        };
        state.keys().verify(token, &expect, state.now()).unwrap()
    }

    /// A verified account's id and access token.
    async fn user(&self, roles: &[&str]) -> (String, String) {
        let email = unique_email("fwd");
        let password = strong_password();
        let id = self
            .app
            .register(&email, &password)
            .await
            .expect(201)
            .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let state = &self.app.server().state;
        state
            .store()
            .accounts
            .mark_verified(id.parse().unwrap(), state.now())
            .await
            .unwrap();
        if !roles.is_empty() {
            self.app.set_roles(&id, roles).await;
        }
        (id.clone(), self.app.login(&email, &password).await.access)
    }
}

async fn setup() -> Setup {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.forward_auth = rules())
        .spawn()
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let port = upstream(calls.clone()).await;
    let nginx = Nginx::start(&app.base, port).await;
    Setup {
        app,
        nginx,
        calls,
        http: reqwest::Client::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_in_front_of_an_upstream() {
    let s = setup().await;
    let (id, token) = s.user(&[]).await;

    // No token: 401 with a Bearer challenge, and the upstream is never called.
    let r = s.get("/api/things", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let mut forged = token.clone();
    forged.push('x');
    assert_eq!(s.get("/api/things", Some(&forged)).await.status(), 401);
    assert_eq!(s.calls(), 0);

    // A valid token: the upstream sees who calls, with a token minted for its audience.
    let r = s.get("/api/things?x=1", Some(&token)).await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["x-portcullis-subject"], id.as_str());
    assert!(!seen["x-portcullis-session"].as_str().unwrap().is_empty());
    let internal = s.verify(seen["x-portcullis-token"].as_str().unwrap(), "ledger-api");
    assert_eq!(internal.sub, id);
    assert!(internal.exp - internal.iat <= 60);
    assert_eq!(s.calls(), 1);

    // The page session's cookie works as well as a bearer token; other methods too.
    let r = s
        .http
        .post(format!("http://127.0.0.1:{}/api/things", s.nginx.port))
        .header("host", HOST)
        .header("cookie", format!("portcullis_at={token}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["x-portcullis-subject"], id.as_str());

    // A rule requiring a role the session lacks: 403.
    let before = s.calls();
    assert_eq!(s.get("/admin/panel", Some(&token)).await.status(), 403);
    let (admin, admin_token) = s.user(&["admin"]).await;
    let r = s.get("/admin/panel", Some(&admin_token)).await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["x-portcullis-subject"], admin.as_str());
    assert_eq!(seen["x-portcullis-roles"], "admin");
    s.verify(seen["x-portcullis-token"].as_str().unwrap(), "admin-svc");
    assert_eq!(s.calls(), before + 1);

    // A rule requiring aal2: a password-only session is asked to step up (RFC 9470).
    let r = s.get("/secure/transfer", Some(&token)).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("acr_values=\"aal2\"")
            && challenge.contains("max_age=300"),
        "{challenge}"
    );

    // No rule matches: denied by default, also with a valid token, also via dot segments.
    assert_eq!(s.get("/other", Some(&token)).await.status(), 403);
    assert_eq!(
        s.get("/public/../admin/panel", Some(&token)).await.status(),
        403
    );
    assert_eq!(s.calls(), before + 1);

    // A public rule lets anyone through, without identity.
    let r = s.get("/public/page", None).await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen, json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_describes_the_original_request_traefik_style() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.forward_auth = rules())
        .spawn()
        .await;
    let r = app
        .send(
            app.request(reqwest::Method::GET, "/v1/forward-auth", None)
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-host", "APP.test:443")
                .header("x-forwarded-uri", "/api/x"),
        )
        .await;
    r.problem(401, Some("unauthenticated"));
    let r = app
        .send(
            app.request(reqwest::Method::GET, "/v1/forward-auth", None)
                .header("x-forwarded-host", "elsewhere.test")
                .header("x-forwarded-uri", "/api/x"),
        )
        .await;
    r.problem(403, Some("forbidden"));
}

/// Behind a proxy every forward-auth call comes from the proxy's address, so the per-IP
/// limit must not apply to it (it still applies to everything else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_is_not_throttled_per_proxy_ip() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.forward_auth = rules();
            c.rate_limit.per_ip_per_minute = 2;
        })
        .spawn()
        .await;
    for _ in 0..6 {
        let r = app
            .send(
                app.request(reqwest::Method::GET, "/v1/forward-auth", None)
                    .header("x-forwarded-method", "GET")
                    .header("x-forwarded-host", "app.test")
                    .header("x-forwarded-uri", "/api/x"),
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    app.get("/health", None).await.expect(200);
    app.get("/health", None).await.expect(200);
    app.get("/health", None)
        .await
        .problem(429, Some("rate-limited"));
}

/// Forward-auth is served behind the proxy routes' lighter middleware: its answers still
/// carry `no-store` and `nosniff`, echo the proxy's request id, are counted in the request
/// metrics like every route, and the route is still in the OpenAPI document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_answers_are_uncached_traced_by_request_id_counted_and_documented() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.forward_auth = rules())
        .spawn()
        .await;
    let ask = |host: &'static str, id: &'static str| {
        app.request(reqwest::Method::GET, "/v1/forward-auth", None)
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", "/api/x")
            .header("x-request-id", id)
    };
    let refused = app.send(ask("app.test", "proxy-req-1")).await;
    refused.problem(401, Some("unauthenticated"));
    let forbidden = app.send(ask("elsewhere.test", "proxy-req-2")).await;
    forbidden.problem(403, Some("forbidden"));
    for (reply, id) in [(&refused, "proxy-req-1"), (&forbidden, "proxy-req-2")] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("x-request-id"), Some(id));
    }

    let metrics = app.get("/metrics", None).await.text;
    for status in ["401", "403"] {
        assert!(
            metrics.lines().any(|l| {
                l.starts_with("portcullis_http_requests_total")
                    && l.contains("path=\"/v1/forward-auth\"")
                    && l.contains("method=\"GET\"")
                    && l.contains(&format!("status=\"{status}\""))
            }),
            "forward-auth {status} not counted:\n{metrics}"
        );
    }

    let doc: Value = serde_json::from_str(&app.get("/openapi.json", None).await.text).unwrap();
    assert!(doc["paths"]["/v1/forward-auth"]["get"].is_object(), "{doc}");
    assert!(doc["paths"]["/v1/sessions"].is_object());
}
