//! The CLI, tested by running the real binary against a fresh data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn portcullis(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PORTCULLIS_PASSWORD__ARGON2__MEMORY_KIB", "1024")
        .env("PORTCULLIS_PASSWORD__ARGON2__ITERATIONS", "1")
        .env("PORTCULLIS_USER_PASSWORD", "violet tangerine submarine 42")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run portcullis")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn add_user(dir: &Path, email: &str, roles: &[&str]) -> String {
    let mut args = vec!["user", "add", "--email", email];
    for r in roles {
        args.extend(["--role", r]);
    }
    ok(&portcullis(dir, &args)).trim().to_owned()
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["config", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "roles", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["keys", "rotate-master", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["bench", "login", "--help"],
    ] {
        let out = ok(&portcullis(dir.path(), &cmd));
        assert!(out.contains("Usage"), "{cmd:?}: {out}");
    }
}

#[test]
fn config_prints_effective_values_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["config", "--data-dir"])
        .arg(dir.path())
        .env("PORTCULLIS_MAIL__SMTP_PASSWORD", "hunter2-do-not-print")
        .env("PORTCULLIS_TOKENS__ACCESS_TTL_SECS", "123")
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("access_ttl_secs = 123"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}

#[test]
fn config_never_prints_the_database_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["config", "--data-dir"])
        .arg(dir.path())
        .env(
            "PORTCULLIS_DATABASE_URL",
            "postgres://app:Pg-pass-77@db.example:5432/portcullis",
        )
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(!text.contains("Pg-pass-77"), "{text}");
    assert!(
        text.contains("postgres://app:<redacted>@db.example:5432/portcullis"),
        "{text}"
    );
}

#[test]
fn printed_config_loads_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.toml");
    std::fs::write(
        &input,
        r#"
public_url = "https://auth.example.com"

[login.required_factors]
"*" = 2
admin = 3

[login.mfa_factors]
admin = ["passkey", "totp"]

[[forward_auth.rules]]
host = "*.example.com"
path_prefix = "/api"
methods = ["GET"]
audience = "api"
roles = ["reader"]
acr = "aal2"
max_age = 600

[[forward_auth.rules]]
path_prefix = "/public"
public = true
"#,
    )
    .unwrap();
    let print = |file: &Path| {
        ok(&Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["config", "--config"])
            .arg(file)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap())
    };
    let first = print(&input);
    assert!(
        first.contains(r#""*" = 2"#) && first.matches("[[forward_auth.rules]]").count() == 2,
        "{first}"
    );
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, &first).unwrap();
    assert_eq!(print(&printed), first);
}

#[test]
fn bad_config_fails_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["config", "--data-dir"])
        .arg(dir.path())
        .env("PORTCULLIS_TOKENS__ACCESS_TTL_SECS", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tokens.access_ttl_secs"), "{err}");
}

#[test]
fn users_are_managed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let id = add_user(dir.path(), "grace@example.com", &["admin"]);
    let list = ok(&portcullis(dir.path(), &["user", "list"]));
    assert!(
        list.contains(&id) && list.contains("grace@example.com") && list.contains("admin"),
        "{list}"
    );
    let dup = portcullis(dir.path(), &["user", "add", "--email", "Grace@Example.com"]);
    assert!(!dup.status.success());
    ok(&portcullis(
        dir.path(),
        &[
            "user",
            "roles",
            "grace@example.com",
            "--set",
            "client,advisor",
        ],
    ));
    let show = ok(&portcullis(dir.path(), &["user", "show", &id]));
    assert!(
        show.contains("advisor") && !show.contains("\"admin\""),
        "{show}"
    );
    ok(&portcullis(dir.path(), &["user", "disable", &id]));
    assert!(ok(&portcullis(dir.path(), &["user", "show", &id])).contains("disabled"));
    ok(&portcullis(dir.path(), &["user", "enable", &id]));
    assert!(ok(&portcullis(dir.path(), &["user", "show", &id])).contains("active"));
    let missing = portcullis(dir.path(), &["user", "show", "nobody@example.com"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account"));
}

#[test]
fn weak_password_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["user", "add", "--email", "weak@example.com", "--data-dir"])
        .arg(dir.path())
        .env("PORTCULLIS_USER_PASSWORD", "password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
}

/// Runs one statement directly on a SQLite file, as an attacker with file access would.
fn execute(db: &Path, statement: &'static str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .connect()
            .await
            .unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    });
}

#[test]
fn audit_verify_detects_edits_deletions_and_a_cut_tail() {
    let setup = |emails: [&str; 3]| {
        let dir = tempfile::tempdir().unwrap();
        for e in emails {
            add_user(dir.path(), e, &[]);
        }
        dir
    };
    let refused = |dir: &tempfile::TempDir, statement: &'static str, says: &str| {
        execute(&dir.path().join("ledger-audit.db"), statement);
        let out = portcullis(dir.path(), &["audit", "verify"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    };
    let dir = setup(["a@example.com", "b@example.com", "c@example.com"]);
    let good = ok(&portcullis(dir.path(), &["audit", "verify"]));
    assert!(
        good.contains("audit log intact: 3 entries verified"),
        "{good}"
    );
    // The second entry (leaf 1) edited in place.
    refused(
        &dir,
        "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '\"v\":1', '\"v\":2') AS BLOB) \
         WHERE idx = 1",
        "entry 1 is not a valid entry",
    );
    let dir = setup(["d@example.com", "e@example.com", "f@example.com"]);
    refused(
        &dir,
        "DELETE FROM entries WHERE idx = 1",
        "entry 1 is missing",
    );
    // The last entry cut off, as someone hiding their tracks would: the signed head still
    // covers it.
    let dir = setup(["g@example.com", "h@example.com", "i@example.com"]);
    refused(
        &dir,
        "DELETE FROM entries WHERE idx = 2",
        "entries were cut off the end",
    );
}

#[test]
fn key_rotation_keeps_old_keys_and_master_rotation_keeps_data_readable() {
    let dir = tempfile::tempdir().unwrap();
    let id = add_user(dir.path(), "keys@example.com", &[]);
    let keyfile = || std::fs::read_to_string(dir.path().join("signing-keys.json")).unwrap();
    let before: serde_json::Value = serde_json::from_str(&keyfile()).unwrap();
    assert_eq!(before["keys"].as_array().unwrap().len(), 1);
    ok(&portcullis(dir.path(), &["keys", "rotate"]));
    let after: serde_json::Value = serde_json::from_str(&keyfile()).unwrap();
    let keys = after["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the old key stays published");
    assert!(keys.iter().filter(|k| k["retired_at"].is_null()).count() == 1);

    let out = ok(&portcullis(dir.path(), &["keys", "rotate-master"]));
    assert!(
        out.contains("v2") && out.contains("1 data key(s) and 0 wallet key(s) re-wrapped"),
        "{out}"
    );
    let show = ok(&portcullis(dir.path(), &["user", "show", &id]));
    assert!(show.contains("keys@example.com"), "{show}");
    let audit = ok(&portcullis(dir.path(), &["audit", "verify"]));
    assert!(audit.contains("3 entries verified"), "{audit}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["signing-keys.json", "keyring.json"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
}

#[test]
fn migrate_reports_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&portcullis(dir.path(), &["migrate"]));
    assert!(out.contains("sqlite"), "{out}");
}

#[test]
fn dualconfirm_pairs_are_managed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let advisor = add_user(dir.path(), "advisor@example.com", &["advisor"]);
    let client = add_user(dir.path(), "client@example.com", &["client"]);
    add_user(dir.path(), "plain@example.com", &[]);
    let pair = ok(&portcullis(
        dir.path(),
        &[
            "dualconfirm",
            "pair",
            "add",
            "--advisor",
            "advisor@example.com",
            "--client",
            &client,
            "--language",
            "fr",
        ],
    ))
    .trim()
    .to_owned();
    assert_eq!(pair.len(), 32, "a pair id: {pair}");

    // The same pair twice, a client without the role, an unknown language: refused.
    for args in [
        vec!["--advisor", &advisor, "--client", &client],
        vec!["--advisor", &advisor, "--client", "plain@example.com"],
        vec![
            "--advisor",
            &advisor,
            "--client",
            &client,
            "--language",
            "de",
        ],
    ] {
        let mut full = vec!["dualconfirm", "pair", "add"];
        full.extend(args);
        let out = portcullis(dir.path(), &full);
        assert!(!out.status.success(), "{full:?} succeeded");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }

    let list = ok(&portcullis(dir.path(), &["dualconfirm", "pair", "list"]));
    assert_eq!(list.lines().count(), 1, "{list}");
    let line = list.lines().next().unwrap();
    for part in [
        pair.as_str(),
        "active",
        "fr",
        &advisor,
        "client@example.com",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    ok(&portcullis(
        dir.path(),
        &["dualconfirm", "pair", "remove", &pair],
    ));
    assert_eq!(
        ok(&portcullis(dir.path(), &["dualconfirm", "pair", "list"])),
        ""
    );
    let again = portcullis(dir.path(), &["dualconfirm", "pair", "remove", &pair]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no such pair"));
}

/// `portcullis serve` on a free port of a data directory the CLI also works on; killed when
/// dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Served {
    fn start(data_dir: &Path) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("PORTCULLIS_PASSWORD__ARGON2__MEMORY_KIB", "1024")
            .env("PORTCULLIS_PASSWORD__ARGON2__ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn portcullis serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .trim()
            .strip_prefix("Portcullis listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Feed =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Logs `email` in on `url` and opens its DualConfirm feed.
async fn console(url: &str, email: &str) -> Feed {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v1/sessions"))
        .json(&serde_json::json!({"email": email, "password": "violet tangerine submarine 42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().expect("an access token");
    let mut req = format!("{url}/v1/dualconfirm/live")
        .replacen("http", "ws", 1)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next feed message for which `wanted` holds, within `limit`.
async fn next_message(
    feed: &mut Feed,
    limit: std::time::Duration,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    tokio::time::timeout(limit, async {
        loop {
            match feed.next().await {
                Some(Ok(Message::Text(text))) => {
                    let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
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
    .unwrap_or_else(|_| panic!("no {what} within {limit:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_pair_from_the_cli_ends_its_live_session_on_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "advisor@example.com", &["advisor"]);
    add_user(dir.path(), "client@example.com", &["client"]);
    let pair = ok(&portcullis(
        dir.path(),
        &[
            "dualconfirm",
            "pair",
            "add",
            "--advisor",
            "advisor@example.com",
            "--client",
            "client@example.com",
        ],
    ))
    .trim()
    .to_owned();
    let server = Served::start(dir.path());
    let mut advisor = console(&server.url, "advisor@example.com").await;
    let mut client = console(&server.url, "client@example.com").await;
    let five = std::time::Duration::from_secs(5);
    for feed in [&mut advisor, &mut client] {
        next_message(feed, five, "the words", |v| v["type"] == "words").await;
    }

    let dir_path = dir.path().to_owned();
    let pair_id = pair.clone();
    let removed = tokio::task::spawn_blocking(move || {
        portcullis(&dir_path, &["dualconfirm", "pair", "remove", &pair_id])
    })
    .await
    .unwrap();
    ok(&removed);
    // Both open consoles hear at once that the session ended: no more words for a pair that
    // no longer exists.
    let two = std::time::Duration::from_secs(2);
    for feed in [&mut advisor, &mut client] {
        let ended = next_message(feed, two, "a session-ended message", |v| {
            v["type"] == "session"
        })
        .await;
        assert_eq!(ended["state"], "ended", "{ended}");
        assert_eq!(ended["pair"], pair.as_str(), "{ended}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_the_advisor_role_from_the_cli_closes_its_console_on_the_running_server() {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "advisor@example.com", &["advisor"]);
    add_user(dir.path(), "client@example.com", &["client"]);
    let pair = ok(&portcullis(
        dir.path(),
        &[
            "dualconfirm",
            "pair",
            "add",
            "--advisor",
            "advisor@example.com",
            "--client",
            "client@example.com",
            "--advisor-name",
            "Ada Lovelace, Example Bank",
        ],
    ))
    .trim()
    .to_owned();
    // The name an operator set is the advisor's identity in the list.
    let list = ok(&portcullis(dir.path(), &["dualconfirm", "pair", "list"]));
    assert!(list.contains("Ada Lovelace, Example Bank"), "{list}");
    ok(&portcullis(
        dir.path(),
        &["dualconfirm", "pair", "name", &pair, "--advisor-name", ""],
    ));
    let list = ok(&portcullis(dir.path(), &["dualconfirm", "pair", "list"]));
    assert!(!list.contains("Ada Lovelace"), "{list}");

    let server = Served::start(dir.path());
    let mut advisor = console(&server.url, "advisor@example.com").await;
    let mut client = console(&server.url, "client@example.com").await;
    let five = std::time::Duration::from_secs(5);
    for feed in [&mut advisor, &mut client] {
        next_message(feed, five, "the words", |v| v["type"] == "words").await;
    }
    let dir_path = dir.path().to_owned();
    let taken = tokio::task::spawn_blocking(move || {
        portcullis(
            &dir_path,
            &["user", "roles", "advisor@example.com", "--set", ""],
        )
    })
    .await
    .unwrap();
    ok(&taken);
    // The running server notices within its watch's second: the advisor's console closes
    // (4003), the client's hears the session ended.
    let closed = tokio::time::timeout(five, async {
        loop {
            match advisor.next().await {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                other => panic!("the feed ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("the advisor's console closed");
    assert_eq!(closed.map(|f| u16::from(f.code)), Some(4003));
    let ended = next_message(&mut client, five, "a session-ended message", |v| {
        v["type"] == "session"
    })
    .await;
    assert_eq!(ended["pair"], pair.as_str(), "{ended}");
}

#[test]
fn webhooks_are_managed_offline_and_secrets_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let field = |out: &str, name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_owned()
    };
    let added = ok(&portcullis(
        dir.path(),
        &[
            "webhook",
            "add",
            "--url",
            "https://svc.example/hooks",
            "--event",
            "account.created",
            "--event",
            "account.deleted",
        ],
    ));
    let id = field(&added, "id");
    let secret = field(&added, "secret");
    assert!(
        id.starts_with("wh_") && secret.starts_with("whsec_"),
        "{added}"
    );
    let list = ok(&portcullis(dir.path(), &["webhook", "list"]));
    assert!(
        list.contains(&id)
            && list.contains("account.created,account.deleted")
            && !list.contains("whsec_"),
        "{list}"
    );
    let rotated = ok(&portcullis(dir.path(), &["webhook", "rotate-secret", &id]));
    let new_secret = field(&rotated, "secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    for (args, why) in [
        (
            vec!["webhook", "add", "--url", "ftp://svc.example/"],
            "http",
        ),
        (
            vec![
                "webhook",
                "add",
                "--url",
                "https://svc.example/",
                "--event",
                "account.nope",
            ],
            "account.nope",
        ),
    ] {
        let refused = portcullis(dir.path(), &args);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains(why));
    }
    ok(&portcullis(dir.path(), &["webhook", "remove", &id]));
    let again = portcullis(dir.path(), &["webhook", "remove", &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no such webhook"));
    // Audited, never with a secret.
    ok(&portcullis(dir.path(), &["audit", "verify"]));
    let mut bytes = Vec::new();
    for file in ["portcullis.db", "ledger-audit.db"] {
        bytes.extend(std::fs::read(dir.path().join(file)).unwrap());
        bytes.extend(std::fs::read(dir.path().join(format!("{file}-wal"))).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("admin.webhook_added") && text.contains("admin.webhook_secret_rotated"));
    assert!(!text.contains(&secret[6..]) && !text.contains(&new_secret[6..]));
}
