//! Several Portcullis nodes on one PostgreSQL (and one Redis): the real binary, started
//! twice as separate processes, as an operator would run it.
//!
//! `scripts/test` starts the PostgreSQL server and a redis-server and exports
//! `PORTCULLIS_TEST_PG_URL` and `PORTCULLIS_TEST_REDIS_URL`; each test makes its own database
//! and its own Redis key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_guard::{Guard, GuardConfig};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple 42";
const ISSUER: &str = "http://portcullis.cluster.test";

fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: run the tests through scripts/test"),
    }
}

/// A new database on the test PostgreSQL server; its URL.
async fn fresh_database() -> String {
    let admin_url = require_env("PORTCULLIS_TEST_PG_URL");
    let name = format!("c_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    admin.close().await.expect("close");
    let (base, _) = admin_url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

/// What every node of one cluster shares: the data directory (keys), the database, Redis.
struct ClusterEnv {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl ClusterEnv {
    async fn new(redis: bool, extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("portcullis.toml");
        std::fs::write(
            &config,
            r#"
[[forward_auth.rules]]
host = "app.test"
path_prefix = "/"
audience = "app"
"#,
        )
        .expect("write config");
        let mut vars: Vec<(String, String)> = vec![
            ("PORTCULLIS_CONFIG".into(), config.display().to_string()),
            ("PORTCULLIS_DATABASE_URL".into(), fresh_database().await),
            ("PORTCULLIS_PUBLIC_URL".into(), ISSUER.into()),
            ("PORTCULLIS_LOGIN__FREE_FAILURES".into(), "1000".into()),
            ("PORTCULLIS_USER_PASSWORD".into(), PASSWORD.into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        if redis {
            vars.push((
                "PORTCULLIS_REDIS_URL".into(),
                require_env("PORTCULLIS_TEST_REDIS_URL"),
            ));
            vars.push((
                "PORTCULLIS_CLUSTER__REDIS_PREFIX".into(),
                format!("t{}:", uuid::Uuid::now_v7().simple()),
            ));
        }
        for (k, v) in extra {
            vars.push(((*k).into(), (*v).into()));
        }
        Self { dir, vars }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// `portcullis user add`; the account id.
    fn add_user(&self, email: &str, roles: &[&str]) -> String {
        let mut args = vec!["user", "add", "--email", email];
        for r in roles {
            args.extend(["--role", r]);
        }
        let out = self.command(&args).output().expect("run portcullis");
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Starts `portcullis serve` on a free port and waits until it listens.
    fn start_node(&self) -> Node {
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn portcullis serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("Portcullis listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Node { child, url }
    }
}

/// One `portcullis serve` process; killed when dropped.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Tokens {
    access: String,
    refresh: String,
}

fn tokens(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().expect("access_token").into(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .into(),
    }
}

async fn login(http: &reqwest::Client, node: &str, email: &str) -> reqwest::Response {
    http.post(format!("{node}/v1/sessions"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login request")
}

async fn logged_in(http: &reqwest::Client, node: &str, email: &str) -> Tokens {
    let r = login(http, node, email).await;
    assert_eq!(r.status(), 201, "login on {node}");
    tokens(&r.json().await.expect("json"))
}

async fn refresh(http: &reqwest::Client, node: &str, refresh: &str) -> reqwest::Response {
    http.post(format!("{node}/v1/tokens/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .expect("refresh request")
}

/// Status of a forward-auth sub-request for `https://app.test/ledger` with `access`.
async fn forward_auth(http: &reqwest::Client, node: &str, access: &str) -> u16 {
    http.get(format!("{node}/v1/forward-auth"))
        .bearer_auth(access)
        .header("x-forwarded-host", "app.test")
        .header("x-forwarded-uri", "/ledger")
        .header("x-forwarded-method", "GET")
        .send()
        .await
        .expect("forward-auth request")
        .status()
        .as_u16()
}

/// How long until `refused` holds, polling every 20 ms; panics after `limit`.
async fn time_until<F, Fut>(limit: Duration, what: &str, mut refused: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if refused().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{what}: still accepted after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Log in on A, refresh on B, log out on B: node A's forward-auth (which had both tokens
/// cached), node A's API and a guard following A's revocation feed all refuse within 1 s.
async fn revocation_reaches_every_node(env: &ClusterEnv) {
    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let email = format!("ada.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&email, &[]);
    let service_email = format!("svc.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&service_email, &["service"]);

    let first = logged_in(&http, &a.url, &email).await;
    assert_eq!(forward_auth(&http, &a.url, &first.access).await, 200);
    let r = refresh(&http, &b.url, &first.refresh).await;
    assert_eq!(r.status(), 200, "a session made on A refreshes on B");
    let second = tokens(&r.json().await.expect("json"));
    assert_eq!(forward_auth(&http, &a.url, &second.access).await, 200);
    assert_eq!(forward_auth(&http, &b.url, &second.access).await, 200);

    let service = logged_in(&http, &b.url, &service_email).await;
    let guard = Guard::new(GuardConfig::new(
        ISSUER,
        "portcullis",
        format!("{}/.well-known/jwks.json", a.url),
    ))
    .expect("guard");
    let feed = guard.spawn_revocation_feed(
        format!("{}/v1/revocations", a.url),
        service.access.clone(),
        Duration::from_millis(200),
    );
    assert!(guard.verify(&second.access).await.is_ok());

    let r = http
        .delete(format!("{}/v1/sessions/current", b.url))
        .bearer_auth(&second.access)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204, "logout on B");

    let one_second = Duration::from_secs(1);
    let me = http
        .get(format!("{}/v1/me", a.url))
        .bearer_auth(&second.access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 401, "node A reads the revoked session");
    time_until(one_second, "A's forward-auth, cached token", || {
        let http = http.clone();
        let (url, token) = (a.url.clone(), first.access.clone());
        async move { forward_auth(&http, &url, &token).await == 401 }
    })
    .await;
    time_until(one_second, "A's forward-auth, refreshed token", || {
        let http = http.clone();
        let (url, token) = (a.url.clone(), second.access.clone());
        async move { forward_auth(&http, &url, &token).await == 401 }
    })
    .await;
    time_until(one_second, "the guard following A's feed", || {
        let guard = guard.clone();
        let token = second.access.clone();
        async move { guard.verify(&token).await.is_err() }
    })
    .await;
    assert_eq!(
        refresh(&http, &a.url, &second.refresh).await.status(),
        401,
        "the revoked session's refresh token is refused on A"
    );
    feed.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_revocation_on_one_node_reaches_the_other_at_once() {
    // Polling is slowed to a minute, so only Redis's announcement can make the 1 s bound.
    let env = ClusterEnv::new(true, &[("PORTCULLIS_CLUSTER__REVOCATION_POLL_MS", "60000")]).await;
    revocation_reaches_every_node(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_only_nodes_agree_by_polling() {
    let env = ClusterEnv::new(false, &[]).await;
    revocation_reaches_every_node(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_rate_limits_count_attempts_on_every_node() {
    let env = ClusterEnv::new(
        true,
        &[("PORTCULLIS_RATE_LIMIT__PER_ACCOUNT_PER_MINUTE", "4")],
    )
    .await;
    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let email = format!("limited.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&email, &[]);
    let wrong = |node: String| {
        let http = http.clone();
        let email = email.clone();
        async move {
            http.post(format!("{node}/v1/sessions"))
                .json(&json!({"email": email, "password": "not the password at all"}))
                .send()
                .await
                .expect("login request")
        }
    };
    // Two attempts on each node: each node alone has seen two of its four.
    for node in [&a.url, &b.url, &a.url, &b.url] {
        assert_eq!(wrong(node.clone()).await.status(), 401);
    }
    for node in [&a.url, &b.url] {
        let r = wrong(node.clone()).await;
        assert_eq!(r.status(), 429, "the fifth attempt is refused on {node}");
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    // Another account is not affected.
    let other = format!("other.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&other, &[]);
    assert_eq!(login(&http, &a.url, &other).await.status(), 201);
}

/// An administrator's key made on `node` with `body`; its id and its text.
async fn api_key(http: &reqwest::Client, node: &str, admin: &str, body: Value) -> (String, String) {
    let r = http
        .post(format!("{node}/v1/admin/api-keys"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("create an API key");
    assert_eq!(r.status(), 201, "create an API key on {node}");
    let created: Value = r.json().await.expect("json");
    let field = |k: &str| created[k].as_str().expect(k).to_owned();
    (field("id"), field("key"))
}

/// Status of `GET /v1/api-keys/current` on `node` with `key`.
async fn current_app(http: &reqwest::Client, node: &str, key: &str) -> u16 {
    http.get(format!("{node}/v1/api-keys/current"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("current API key")
        .status()
        .as_u16()
}

/// A key revoked on node A is refused by node B on the very next request, with no wait:
/// every node reads keys from the shared database on every request (nothing to invalidate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_only_an_api_key_revoked_on_one_node_is_refused_by_the_other_at_once() {
    let env = ClusterEnv::new(false, &[]).await;
    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let email = format!("keys.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&email, &["admin"]);
    let admin = logged_in(&http, &a.url, &email).await.access;
    let body = json!({"name": "shop", "scopes": ["wallets:read"]});
    let (id, key) = api_key(&http, &a.url, &admin, body).await;
    assert_eq!(current_app(&http, &a.url, &key).await, 200);
    assert_eq!(current_app(&http, &b.url, &key).await, 200);

    let r = http
        .delete(format!("{}/v1/admin/api-keys/{id}", a.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 204, "revoke on A");
    assert_eq!(current_app(&http, &b.url, &key).await, 401, "B, at once");
    assert_eq!(current_app(&http, &a.url, &key).await, 401);
}

/// With Redis a key's rate is counted across nodes: a 4-per-minute key used twice on each
/// node is refused on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_an_api_key_rate_counts_requests_on_every_node() {
    let env = ClusterEnv::new(true, &[]).await;
    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let email = format!("keys.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&email, &["admin"]);
    let admin = logged_in(&http, &a.url, &email).await.access;
    let body = json!({"name": "shop", "scopes": ["wallets:read"], "rate_per_minute": 4});
    let (_, key) = api_key(&http, &a.url, &admin, body).await;
    for node in [&a.url, &b.url, &a.url, &b.url] {
        assert_eq!(current_app(&http, node, &key).await, 200);
    }
    for node in [&a.url, &b.url] {
        assert_eq!(current_app(&http, node, &key).await, 429, "on {node}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_under_load_loses_no_session() {
    let env = ClusterEnv::new(
        true,
        &[
            ("PORTCULLIS_RATE_LIMIT__PER_ACCOUNT_PER_MINUTE", "100000"),
            ("PORTCULLIS_RATE_LIMIT__AUTH_PER_IP_PER_MINUTE", "100000"),
            ("PORTCULLIS_RATE_LIMIT__PER_IP_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let mut a = env.start_node();
    let b = env.start_node();
    let email = format!("load.{}@example.com", uuid::Uuid::now_v7().simple());
    env.add_user(&email, &[]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    // Four workers log in and refresh, alternating nodes, until told to stop; each keeps the
    // latest refresh token of every session it was handed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (http, email, stop) = (http.clone(), email.clone(), stop.clone());
        let nodes = [a.url.clone(), b.url.clone()];
        workers.push(tokio::spawn(async move {
            let mut sessions: Vec<String> = Vec::new();
            let mut failures = 0u32;
            let mut i = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let node = &nodes[i % 2];
                let Ok(r) = http
                    .post(format!("{node}/v1/sessions"))
                    .json(&json!({"email": email, "password": PASSWORD}))
                    .send()
                    .await
                else {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if r.status() != 201 {
                    failures += 1;
                    continue;
                }
                let Ok(body) = r.json::<Value>().await else {
                    failures += 1;
                    continue;
                };
                let refresh_token = tokens(&body).refresh;
                // Refresh on the other node. Only a session whose last answer the client
                // received is counted: a refresh cut off by the kill leaves the client unsure
                // which token is current, and presenting the old one is reuse by design.
                let other = &nodes[(i + 1) % 2];
                match http
                    .post(format!("{other}/v1/tokens/refresh"))
                    .json(&json!({"refresh_token": refresh_token}))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                        Ok(body) => sessions.push(tokens(&body).refresh),
                        Err(_) => failures += 1,
                    },
                    Ok(r) => panic!("refresh on {other} answered {}", r.status()),
                    Err(e) => {
                        failures += 1;
                        // Refused connection: never sent, the login's token is current.
                        if e.is_connect() {
                            sessions.push(refresh_token);
                        }
                    }
                }
            }
            (sessions, failures)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let mut sessions = Vec::new();
    let mut failures = 0;
    for w in workers {
        let (s, f) = w.await.expect("worker");
        sessions.extend(s);
        failures += f;
    }
    assert!(
        sessions.len() >= 8,
        "the load made only {} sessions",
        sessions.len()
    );
    assert!(
        failures > 0,
        "killing node A failed no request: was it killed?"
    );
    // Every session handed out, by either node, still works on the survivor.
    for token in &sessions {
        let r = refresh(&http, &b.url, token).await;
        assert_eq!(r.status(), 200, "a session was lost when node A died");
    }
}

#[test]
fn a_node_refuses_to_start_when_redis_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("PORTCULLIS_REDIS_URL", "redis://127.0.0.1:1/")
        .output()
        .expect("run portcullis");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("redis"), "{stderr}");
}

type Feed =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the DualConfirm feed on `node` with `access`.
async fn dualconfirm_feed(node: &str, access: &str) -> Feed {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let url = format!("{node}/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {access}").parse().expect("header"),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .expect("feed opens")
        .0
}

/// The next feed message for which `wanted` holds, within 5 s.
async fn next_message(feed: &mut Feed, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match feed.next().await {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(text.as_str()).expect("json message");
                    if wanted(&v) {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the feed ended while waiting for {what}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 5 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_dualconfirm_parties_on_two_nodes_verify_each_other() {
    let env = ClusterEnv::new(true, &[]).await;
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let (advisor_email, client_email) = (
        format!("advisor.{tag}@example.com"),
        format!("client.{tag}@example.com"),
    );
    env.add_user(&advisor_email, &["advisor"]);
    env.add_user(&client_email, &["client"]);
    let out = env
        .command(&[
            "dualconfirm",
            "pair",
            "add",
            "--advisor",
            &advisor_email,
            "--client",
            &client_email,
        ])
        .output()
        .expect("run portcullis");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pair = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let advisor = logged_in(&http, &a.url, &advisor_email).await;
    let client = logged_in(&http, &b.url, &client_email).await;

    // The advisor is on A, the client on B: each node learns of the other party over Redis,
    // and each pushes its own party the words, which match.
    let mut on_a = dualconfirm_feed(&a.url, &advisor.access).await;
    let mut on_b = dualconfirm_feed(&b.url, &client.access).await;
    let advisor_words =
        next_message(&mut on_a, "the advisor's words", |v| v["type"] == "words").await;
    let client_words =
        next_message(&mut on_b, "the client's words", |v| v["type"] == "words").await;
    assert_eq!(advisor_words["window"], client_words["window"]);
    assert_eq!(advisor_words["say"], client_words["expect"]);
    assert_eq!(advisor_words["expect"], client_words["say"]);

    // The client checks on A, where it has no socket: the advisor's word matches there, and
    // a wrong word alerts the advisor.
    let check = |node: String, word: Value| {
        let http = http.clone();
        let (pair, access) = (pair.clone(), client.access.clone());
        async move {
            let r = http
                .post(format!("{node}/v1/dualconfirm/pairs/{pair}/check"))
                .bearer_auth(access)
                .json(&json!({ "word": word }))
                .send()
                .await
                .expect("check request");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    let verdict = check(a.url.clone(), client_words["expect"].clone()).await;
    assert_eq!(verdict["match"], true, "{verdict}");
    let verdict = check(b.url.clone(), json!("surely-not-the-word")).await;
    assert_eq!(verdict["match"], false, "{verdict}");
    let alert = next_message(&mut on_a, "the mismatch alert", |v| v["type"] == "alert").await;
    assert_eq!(alert["by"], "client");

    // Attempts are counted across nodes: checks alternating between A and B use up one
    // shared allowance of the window (5), then both refuse. A window boundary in between
    // starts a new allowance, and the count starts again.
    let mut left = verdict["attempts_left"].as_u64().expect("attempts_left");
    let mut nodes = [a.url.clone(), b.url.clone()].into_iter().cycle();
    let mut steps = 0;
    while left > 0 {
        steps += 1;
        assert!(steps < 20, "the allowance never ran out");
        let v = check(nodes.next().expect("a node"), json!("still-not-the-word")).await;
        let now_left = v["attempts_left"].as_u64().expect("attempts_left");
        assert!(
            now_left + 1 == left || now_left == 4,
            "{left} attempts left, then {now_left}: not one shared count"
        );
        left = now_left;
    }
    for node in [&a.url, &b.url] {
        let r = http
            .post(format!("{node}/v1/dualconfirm/pairs/{pair}/check"))
            .bearer_auth(&client.access)
            .json(&json!({ "word": "one-more" }))
            .send()
            .await
            .expect("check request");
        assert_eq!(r.status(), 429, "the allowance is spent on {node} too");
    }

    // The advisor leaves A: the client on B sees it and the session ends there.
    drop(on_a);
    let left = next_message(&mut on_b, "the advisor's departure", |v| {
        v["type"] == "presence" && v["party"] == "advisor" && v["connected"] == false
    })
    .await;
    assert_eq!(left["session"], "waiting");
    let r = http
        .get(format!("{}/v1/dualconfirm/pairs/{pair}/words", b.url))
        .bearer_auth(&client.access)
        .send()
        .await
        .expect("words request");
    assert_eq!(r.status(), 409, "no words without the advisor");
}

/// The advisor's console is on A, the client's on B; `portcullis dualconfirm pair remove`,
/// run as its own process, ends the session on both nodes within 2 s.
async fn pair_removal_reaches_every_node(env: &ClusterEnv, live: bool) {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let (advisor_email, client_email) = (
        format!("advisor.{tag}@example.com"),
        format!("client.{tag}@example.com"),
    );
    env.add_user(&advisor_email, &["advisor"]);
    env.add_user(&client_email, &["client"]);
    let out = env
        .command(&[
            "dualconfirm",
            "pair",
            "add",
            "--advisor",
            &advisor_email,
            "--client",
            &client_email,
        ])
        .output()
        .expect("run portcullis");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pair = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let a = env.start_node();
    let b = env.start_node();
    let http = reqwest::Client::new();
    let advisor = logged_in(&http, &a.url, &advisor_email).await;
    let client = logged_in(&http, &b.url, &client_email).await;
    let mut on_a = dualconfirm_feed(&a.url, &advisor.access).await;
    let mut on_b = dualconfirm_feed(&b.url, &client.access).await;
    // Each console is registered on its node (and, with Redis, the session is live).
    let kind = if live { "words" } else { "presence" };
    for feed in [&mut on_a, &mut on_b] {
        next_message(feed, "the first message", |v| v["type"] == kind).await;
    }

    let remove = env.command(&["dualconfirm", "pair", "remove", &pair]);
    let out = tokio::task::spawn_blocking(move || {
        let mut remove = remove;
        remove.output()
    })
    .await
    .expect("join")
    .expect("run portcullis");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let removed_at = Instant::now();
    for feed in [&mut on_a, &mut on_b] {
        let ended = next_message(feed, "the end of the session", |v| {
            v["type"] == "session" && v["state"] == "ended"
        })
        .await;
        assert_eq!(ended["pair"], pair.as_str(), "{ended}");
    }
    let took = removed_at.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the consoles heard of the removal after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_pair_removed_by_the_cli_ends_its_session_on_every_node() {
    let env = ClusterEnv::new(true, &[]).await;
    pair_removal_reaches_every_node(&env, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_only_a_pair_removed_by_the_cli_ends_its_session_on_every_node() {
    let env = ClusterEnv::new(false, &[]).await;
    pair_removal_reaches_every_node(&env, false).await;
}
