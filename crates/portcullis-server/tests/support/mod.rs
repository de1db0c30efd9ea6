//! Harness for the end-to-end tests: a real server spawned in-process on port 0 with a fresh
//! data directory (and, when asked, a fresh PostgreSQL database), a real HTTP client, and the
//! real SMTP receiver's maildir for the mail the server sends.
//!
//! `scripts/test` starts PostgreSQL and the SMTP receiver and exports the `PORTCULLIS_TEST_*`
//! variables; a test that needs one of them fails (never skips) when it is missing.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test harness: a failure is a test failure"
)]

pub mod browser;
pub mod chain;
pub mod custody;
pub mod factors;
pub mod mail;
pub mod passcodes;

use portcullis_core::ids::AccountId;
use portcullis_core::password::Argon2Params;
use portcullis_server::Server;
use portcullis_server::config::{Config, MailTransportKind, SmtpSecurity};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use std::path::Path;

#[allow(unused_imports, reason = "not every test binary reads mail")]
pub use mail::{Mail, link_token, mails_to, wait_for_mail};

/// The variable `name`, or a failure that says how to get it.
pub fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: the end-to-end tests need the real PostgreSQL, SMTP receiver \
             and Python that `scripts/test` starts; run scripts/test (e.g. \
             `scripts/test -p portcullis-server`)"
        ),
    }
}

/// A fresh address nobody else uses: `<tag>.<uuid>@example.com`.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}.{}@example.com", uuid::Uuid::now_v7().simple())
}

/// A password the policy accepts (high-entropy, unrelated to any address).
pub fn strong_password() -> String {
    // The tail of a v7 UUID is random (its head is a timestamp).
    let u = uuid::Uuid::now_v7().simple().to_string();
    format!("Kv{}#q{}", &u[16..26], &u[26..32])
}

/// Where the account data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory (the default).
    Sqlite,
    /// A fresh database on the server named by `PORTCULLIS_TEST_PG_URL`.
    Postgres,
}

/// How the server sends mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// The real SMTP receiver of `scripts/test` (the default).
    Smtp,
    /// `.eml` files under the data directory (no receiver needed).
    Files,
}

/// Builds a [`TestApp`].
pub struct Builder {
    backend: Backend,
    mail: MailKind,
    config: Config,
    /// Another node's data directory (keys) and database: see [`Builder::join`].
    joins: Option<(std::path::PathBuf, String)>,
}

impl Builder {
    /// Uses PostgreSQL.
    pub fn postgres(mut self) -> Self {
        self.backend = Backend::Postgres;
        self
    }

    /// Uses `backend`.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Writes mail to files instead of sending it.
    pub fn file_mail(mut self) -> Self {
        self.mail = MailKind::Files;
        self
    }

    /// Changes the configuration before the server starts.
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// A second node of `first`'s cluster: the same data directory (keyring and signing
    /// keys), the same PostgreSQL database and the same issuer, so each node takes the
    /// other's tokens. `first` must run on PostgreSQL.
    pub fn join(mut self, first: &TestApp) -> Self {
        let url = first
            .database_url
            .clone()
            .expect("a cluster shares a PostgreSQL database");
        self.joins = Some((first.data_dir().to_path_buf(), url));
        self.config.public_url = Some(first.base.parse().expect("the base URL"));
        self
    }

    /// Starts the server.
    pub async fn spawn(self) -> TestApp {
        init_logging();
        let Builder {
            backend,
            mail,
            mut config,
            joins,
        } = self;
        let dir = tempfile::tempdir().expect("temporary data directory");
        config.data_dir = dir.path().into();
        config.listen = "127.0.0.1:0".parse().expect("listen address");
        if mail == MailKind::Smtp {
            let smtp = require_env("PORTCULLIS_TEST_SMTP");
            let (host, port) = smtp
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("PORTCULLIS_TEST_SMTP={smtp} is not HOST:PORT"));
            config.mail.transport = MailTransportKind::Smtp;
            config.mail.smtp_host = host.to_owned();
            config.mail.smtp_port = port.parse().expect("SMTP port");
            config.mail.smtp_security = SmtpSecurity::None;
            // The maildir must exist too, or no test could read what was sent.
            require_env("PORTCULLIS_TEST_MAILDIR");
        } else {
            config.mail.transport = MailTransportKind::File;
        }
        let mut database_url = None;
        if let Some((shared_dir, url)) = joins {
            config.data_dir = shared_dir;
            config.database_url = Some(url.clone().into());
            database_url = Some(url);
        } else if backend == Backend::Postgres {
            let url = fresh_pg_database().await;
            config.database_url = Some(url.clone().into());
            database_url = Some(url);
        }
        let server = portcullis_server::start(config)
            .await
            .expect("the server starts");
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::limited(5))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        TestApp {
            base: server.url(),
            server: Some(server),
            client,
            data_dir: dir,
            backend,
            database_url,
        }
    }
}

fn init_logging() {
    // Logs go straight to stderr (not captured per test), so only when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        portcullis_server::telemetry::init_logging(
            portcullis_server::config::LogFormat::Pretty,
            "info,sqlx=warn",
        );
    }
}

/// Creates `t_<uuid>` on the test PostgreSQL server and returns its URL.
async fn fresh_pg_database() -> String {
    let admin_url = require_env("PORTCULLIS_TEST_PG_URL");
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to PORTCULLIS_TEST_PG_URL ({admin_url}): {e}"));
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    admin.close().await.expect("close the admin connection");
    with_database(&admin_url, &name)
}

/// `url` with its database name (the last path segment) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, also the tokens' issuer.
    pub base: String,
    server: Option<Server>,
    /// The HTTP client (no proxy, follows redirects).
    pub client: reqwest::Client,
    data_dir: tempfile::TempDir,
    /// Which database it uses.
    pub backend: Backend,
    /// The PostgreSQL database's URL, when it uses one.
    database_url: Option<String>,
}

/// A finished HTTP exchange.
#[derive(Debug)]
pub struct Reply {
    /// The final URL (after redirects).
    pub url: String,
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (fails the test when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}); status {}: {:?}",
                self.status, self.text
            )
        })
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status and (when given) `type` slug; returns
    /// the body.
    pub fn problem(&self, status: u16, slug: Option<&str>) -> Value {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "a {status} must be problem+json: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], json!(status), "{body}");
        let ty = body["type"].as_str().unwrap_or_default();
        assert!(
            ty.starts_with("https://portcullis.dev/problems/"),
            "problem type {ty:?}"
        );
        assert!(body["title"].is_string(), "problem without a title: {body}");
        if let Some(slug) = slug {
            assert_eq!(
                ty,
                format!("https://portcullis.dev/problems/{slug}"),
                "{body}"
            );
        }
        body
    }
}

/// Tokens from a completed login or a refresh.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// JWT access token.
    pub access: String,
    /// Opaque refresh token.
    pub refresh: String,
    /// Session id.
    pub session_id: String,
}

impl Tokens {
    /// Reads a token response, checking its shape.
    pub fn from_json(body: &Value) -> Self {
        // `DPoP` for a wallet session, whose tokens are bound to its session key.
        assert!(
            body["token_type"] == "Bearer" || body["token_type"] == "DPoP",
            "{body}"
        );
        assert!(body["expires_in"].as_i64().is_some_and(|n| n > 0), "{body}");
        let s = |k: &str| {
            body[k]
                .as_str()
                .unwrap_or_else(|| panic!("no {k} in {body}"))
                .to_owned()
        };
        Tokens {
            access: s("access_token"),
            refresh: s("refresh_token"),
            session_id: s("session_id"),
        }
    }
}

impl TestApp {
    /// A builder with the test defaults: SQLite, real SMTP, cheap argon2.
    pub fn builder() -> Builder {
        let mut config = Config::default();
        config.password.argon2 = Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        Builder {
            backend: Backend::Sqlite,
            mail: MailKind::Smtp,
            config,
            joins: None,
        }
    }

    /// A server with the test defaults.
    pub async fn spawn() -> TestApp {
        Self::builder().spawn().await
    }

    /// The running server (its state reaches the store).
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the server is running")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Stops the server (in-flight requests finish); the data directory stays until drop.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("the server stops cleanly");
        }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and collects the answer.
    pub async fn send(&self, req: RequestBuilder) -> Reply {
        let resp = req.send().await.expect("the request reaches the server");
        let url = resp.url().to_string();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a readable body");
        Reply {
            url,
            status,
            headers,
            text,
        }
    }

    /// A request on `path`, with a bearer token when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(Method::GET, path, token)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, token).json(body))
            .await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path, token).json(body))
            .await
    }

    /// `DELETE path`, with a JSON body when given.
    pub async fn delete(&self, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let req = self.request(Method::DELETE, path, token);
        let req = match body {
            Some(b) => req.json(b),
            None => req,
        };
        self.send(req).await
    }

    /// `POST /v1/accounts`.
    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/v1/accounts",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers, follows the link of the verification mail, and returns the account id.
    pub async fn register_verified(&self, email: &str, password: &str) -> String {
        let reply = self.register(email, password).await;
        let id = reply.expect(201).json()["id"]
            .as_str()
            .expect("an account id")
            .to_owned();
        self.verify_by_mail(email).await;
        id
    }

    /// Waits for the verification mail to `email` and verifies with its token.
    pub async fn verify_by_mail(&self, email: &str) {
        let mail = self.wait_for_link(email, "verify-email").await;
        let token = link_token(&mail.body, &self.base, "verify-email")
            .unwrap_or_else(|| panic!("no verification link in:\n{}", mail.body));
        self.post("/v1/accounts/verify", None, &json!({ "token": token }))
            .await
            .expect(204);
    }

    /// Waits for a mail to `to` carrying a `{base}/{path}?token=` link.
    pub async fn wait_for_link(&self, to: &str, path: &str) -> Mail {
        let base = self.base.clone();
        let path = path.to_owned();
        wait_for_mail(to, move |m| link_token(&m.body, &base, &path).is_some()).await
    }

    /// Logs in with a password, expecting tokens.
    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let reply = self.try_login(email, password).await;
        Tokens::from_json(&reply.expect(201).json())
    }

    /// `POST /v1/sessions` with a password.
    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/v1/sessions",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Gives the account the `admin` role (through the store, as an operator would).
    pub async fn make_admin(&self, id: &str) {
        self.set_roles(id, &["admin"]).await;
    }

    /// Replaces the account's roles (through the store, as an operator would).
    pub async fn set_roles(&self, id: &str, roles: &[&str]) {
        let id: AccountId = id.parse().expect("an account id");
        let state = &self.server().state;
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let changed = state
            .store()
            .accounts
            .set_roles(id, &roles, state.now())
            .await
            .expect("set_roles");
        assert!(changed, "set_roles found no account {id}");
    }

    /// Registers an account and verifies it through the store (so it works with either mail
    /// transport); returns its id.
    pub async fn register_active(&self, email: &str, password: &str) -> String {
        let reply = self.register(email, password).await;
        let id = reply.expect(201).json()["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let state = &self.server().state;
        let account: AccountId = id.parse().expect("an account id");
        state
            .store()
            .accounts
            .mark_verified(account, state.now())
            .await
            .expect("mark_verified");
        id
    }

    /// Access token of a fresh account with the `service` role, the kind of caller
    /// introspection admits.
    pub async fn service_caller(&self) -> String {
        let email = unique_email("service");
        let password = strong_password();
        let id = self.register_active(&email, &password).await;
        self.set_roles(&id, &["service"]).await;
        self.login(&email, &password).await.access
    }

    /// `POST /v1/tokens/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post(
            "/v1/tokens/refresh",
            None,
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// `POST /v1/introspect` (form-encoded) as `caller`.
    pub async fn introspect(&self, caller: Option<&str>, token: &str) -> Reply {
        let req = self
            .request(Method::POST, "/v1/introspect", caller)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", urlencode(token)));
        self.send(req).await
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
