//! The whole hardware-wallet login with real processes (issue 14's proof): the software
//! wallet (`portcullis-wallet device`) on one end of a `socat` pty pair (and, second, on
//! TCP), the driver (`portcullis-wallet login`, `call`, `logout`) on the other, a running
//! Portcullis, and a service behind `portcullis-guard` reading the revocation feed.
//!
//! Login, three calls through the guard, the wallet killed → the driver's presence stops,
//! the session ends and the next call is refused within a second of that; logout; the
//! wallet back, a second login with the fresh AuthNFT, a call, logout. Every ledger entry
//! of the run verifies (`portcullis_ledger::verify`, what `portcullis ledger verify` runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../portcullis-server/tests/support/mod.rs"]
mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use portcullis_core::eth;
use portcullis_guard::{Guard, GuardConfig, GuardLayer, Requirement, Verified};
use portcullis_ledger::{Ledger, LedgerName, Location, keys};
use serde_json::json;
use support::{Backend, TestApp, strong_password, unique_email};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis-wallet");
const KEY_HEX: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const PIN: &str = "482913";
const AUDIENCE: &str = "orders";

/// Kills its child when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn init(dir: &Path) -> PathBuf {
    let state = dir.join("wallet.json");
    let out = Command::new(BIN)
        .args(["init", "--state"])
        .arg(&state)
        .args(["--pin-env", "WALLET_PIN", "--import-key-env", "WALLET_KEY"])
        .args(["--kdf-memory-kib", "256", "--kdf-passes", "1"])
        .env("WALLET_PIN", PIN)
        .env("WALLET_KEY", KEY_HEX)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    state
}

/// How the driver reaches the wallet, and what keeps the wallet's end running.
enum Line {
    Serial { host: PathBuf },
    Tcp { addr: String },
}

impl Line {
    fn args(&self) -> Vec<String> {
        match self {
            Line::Serial { host } => vec!["--serial".into(), host.display().to_string()],
            Line::Tcp { addr } => vec!["--connect".into(), addr.clone()],
        }
    }
}

/// A pty pair from socat: (the device's end, the host's end).
fn pty_pair(dir: &Path) -> (PathBuf, PathBuf, Killed) {
    let (dev, host) = (dir.join("dev"), dir.join("host"));
    let socat = Command::new(support::require_env("PORTCULLIS_TEST_SOCAT"))
        .arg(format!("pty,raw,echo=0,link={}", dev.display()))
        .arg(format!("pty,raw,echo=0,link={}", host.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socat = Killed(socat);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(dev.exists() && host.exists()) {
        assert!(Instant::now() < deadline, "socat made no ptys");
        std::thread::sleep(Duration::from_millis(20));
    }
    (dev, host, socat)
}

/// Starts the software wallet on `dev` (a pty) or on TCP port 0; returns it and its line.
fn start_device(state: &Path, dev: Option<&Path>) -> (Killed, Option<String>) {
    let mut command = Command::new(BIN);
    command.args(["device", "--state"]).arg(state);
    match dev {
        Some(dev) => {
            command.arg("--serial").arg(dev);
            let mut child = command
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // The wallet says "serving on" once its end is open and its stale input
            // cleared; a driver that wrote before that would lose its first request.
            let mut err = BufReader::new(child.stderr.take().unwrap());
            let mut line = String::new();
            err.read_line(&mut line).unwrap();
            assert!(line.contains("serving on"), "the wallet said: {line:?}");
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::stderr()));
            (Killed(child), None)
        }
        None => {
            command.args(["--listen", "127.0.0.1:0"]);
            let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let addr = line
                .trim()
                .strip_prefix("listening on ")
                .unwrap()
                .to_owned();
            (Killed(child), Some(addr))
        }
    }
}

/// `portcullis-wallet login` in the background; returns once it printed that it signed in.
fn login(app: &TestApp, line: &Line, email: &str, password: &str, session: &Path) -> Killed {
    let mut child = Command::new(BIN)
        .arg("login")
        .args(line.args())
        .args([
            "--pin-env",
            "WALLET_PIN",
            "--password-env",
            "ACCOUNT_PASSWORD",
        ])
        // A pulled wallet is noticed within a presence interval, not after the default 30 s.
        .args(["--timeout-s", "1"])
        .args(["--server", &app.base, "--email", email, "--session"])
        .arg(session)
        .env("WALLET_PIN", PIN)
        .env("ACCOUNT_PASSWORD", password)
        .env("NO_PROXY", "*")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("signed in: session "),
        "login said: {first:?}"
    );
    // Keep reading, so the driver's last lines find the pipe open.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Killed(child)
}

/// `portcullis-wallet call`: (exit code, stdout).
fn call(session: &Path, target: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["call", "--session"])
        .arg(session)
        .arg(target)
        .env("NO_PROXY", "*")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn logout(session: &Path) {
    let out = Command::new(BIN)
        .args(["logout", "--session"])
        .arg(session)
        .env("NO_PROXY", "*")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!session.exists(), "logout removes the session file");
}

/// A service behind the guard: `GET /orders` answers with the caller's subject.
async fn protected_service(app: &TestApp) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let config = GuardConfig::builder(
        &app.base,
        AUDIENCE,
        format!("{}/.well-known/jwks.json", app.base),
    )
    .public_origin(&origin)
    .build();
    let guard = Guard::new(config).unwrap();
    let feed = guard.spawn_revocation_feed(
        format!("{}/v1/revocations", app.base),
        app.service_caller().await,
        Duration::from_millis(200),
    );
    let router = Router::new()
        .route(
            "/orders",
            get(|v: Verified| async move { axum::Json(json!({ "sub": v.sub })) }),
        )
        .route_layer(GuardLayer::new(guard, Requirement::authenticated()));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("{origin}/orders"), feed)
}

async fn enrol(app: &TestApp, email: &str, password: &str) {
    app.register_active(email, password).await;
    let t = app.login(email, password).await;
    let started = app
        .post(
            "/v1/me/factors/wallet",
            Some(&t.access),
            &json!({ "address": ADDRESS }),
        )
        .await
        .expect(201)
        .json();
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(KEY_HEX).unwrap()).unwrap();
    let signature = eth::sign(&key, started["message"].as_str().unwrap().as_bytes()).unwrap();
    let id = started["factor"]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/me/factors/{id}/confirm"),
        Some(&t.access),
        &json!({ "code": signature.to_string() }),
    )
    .await
    .expect(200);
}

async fn run(over_tcp: bool) {
    let app = TestApp::builder()
        .backend(Backend::Sqlite)
        .file_mail()
        .configure(|c| {
            c.audience = AUDIENCE.to_owned();
            c.wallet.presence_interval = Duration::from_secs(1);
        })
        .spawn()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let state = init(dir.path());
    let email = unique_email("driver");
    let password = strong_password();
    enrol(&app, &email, &password).await;
    let (orders, feed) = protected_service(&app).await;
    let session = dir.path().join("session.json");

    let (pty, _socat) = if over_tcp {
        (None, None)
    } else {
        let (dev, host, socat) = pty_pair(dir.path());
        (Some((dev, host)), Some(socat))
    };
    let (device, addr) = start_device(&state, pty.as_ref().map(|(d, _)| d.as_path()));
    let line = match (&pty, addr) {
        (Some((_, host)), _) => Line::Serial { host: host.clone() },
        (None, Some(addr)) => Line::Tcp { addr },
        (None, None) => unreachable!(),
    };

    // Login, then three calls through the guard.
    let mut driver = login(&app, &line, &email, &password, &session);
    for _ in 0..3 {
        let (code, out) = call(&session, &orders);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("200"), "{out}");
    }
    let (code, me) = call(&session, "/v1/me");
    assert_eq!(code, 0, "{me}");

    // The wallet is pulled: presence goes unanswered, the server ends the session, and
    // the guard refuses the next call within a second of that.
    drop(device);
    let status = tokio::task::spawn_blocking(move || driver.0.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the driver reports the lost session"
    );
    let ended = Instant::now();
    loop {
        let (code, out) = call(&session, &orders);
        if code != 0 {
            assert!(out.starts_with("401"), "{out}");
            break;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    logout(&session);

    // The wallet is back: the fresh AuthNFT logs in again; logout ends it cleanly.
    let (device, addr) = start_device(&state, pty.as_ref().map(|(d, _)| d.as_path()));
    let line = match (&pty, addr) {
        (Some((_, host)), _) => Line::Serial { host: host.clone() },
        (None, Some(addr)) => Line::Tcp { addr },
        (None, None) => unreachable!(),
    };
    let driver = login(&app, &line, &email, &password, &session);
    let (code, out) = call(&session, &orders);
    assert_eq!(code, 0, "{out}");
    logout(&session);
    let status = tokio::task::spawn_blocking(move || {
        let mut driver = driver;
        driver.0.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "after a logout the driver exits 0");
    drop(device);
    feed.abort();

    // Every entry of the run verifies: leaves, tree and signed checkpoints.
    let mut counts = Vec::new();
    for name in [LedgerName::Auth, LedgerName::Req, LedgerName::Audit] {
        let verifier = keys::load(app.data_dir(), name).unwrap().verifier();
        let location = Location::Sqlite(app.data_dir().to_path_buf());
        let ledger = Ledger::open_read_only(name, &location, verifier)
            .await
            .unwrap();
        let report = portcullis_ledger::verify::verify(&ledger, |_, _| {})
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{name:?} does not verify: {e}"));
        counts.push(report.entries);
        ledger.close().await;
    }
    // auth: enrolment mint; login transfer+burn; fresh mint at the lost presence; the
    // second login's transfer+burn; the logout's mint. req: two mints, two burns.
    assert_eq!(counts[..2], [7, 4], "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_calls_pull_and_relogin_over_a_serial_pty() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_calls_pull_and_relogin_over_tcp() {
    run(true).await;
}
