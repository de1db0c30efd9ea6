//! The server under test as an operator runs it: a data directory (keys, development mail,
//! and the SQLite database or the URL of a PostgreSQL one), `portcullis serve` as a child
//! process that SIGKILL can end, and the CLI on the same data.

use sqlx::{AssertSqlSafe, Connection as _, PgConnection, SqliteConnection};
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The password of every account the CLI makes.
pub const PASSWORD: &str = "correct horse battery staple 42";
/// A fixed issuer, so that access tokens outlive a restart on another port.
const ISSUER: &str = "http://portcullis.crash.test";

/// Where the accounts live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory (the default).
    Sqlite,
    /// A fresh database on `PORTCULLIS_TEST_PG_URL`.
    Postgres,
}

/// One data directory and database, kept across restarts.
pub struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
    database: Option<String>,
}

/// Who the load acts as, made with the CLI before the first start.
pub struct Cast {
    /// Accounts that log in and refresh.
    pub sessions: Vec<String>,
    /// Accounts that enrol and remove factors.
    pub factors: Vec<String>,
    /// The DualConfirm advisor's and client's addresses.
    pub advisor: String,
    pub client: String,
    /// Their pair's id.
    pub pair: String,
}

fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: run the tests through scripts/test"),
    }
}

/// A new database on the test PostgreSQL server; its URL.
async fn fresh_database() -> String {
    let admin_url = require_env("PORTCULLIS_TEST_PG_URL");
    let name = format!("k_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    admin.close().await.expect("close");
    let (base, _) = admin_url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

impl Env {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vars: Vec<(String, String)> = [
            ("PORTCULLIS_PUBLIC_URL", ISSUER),
            ("PORTCULLIS_USER_PASSWORD", PASSWORD),
            ("PORTCULLIS_PASSWORD__ARGON2__MEMORY_KIB", "1024"),
            ("PORTCULLIS_PASSWORD__ARGON2__ITERATIONS", "1"),
            ("PORTCULLIS_RATE_LIMIT__PER_ACCOUNT_PER_MINUTE", "1000000"),
            ("PORTCULLIS_RATE_LIMIT__AUTH_PER_IP_PER_MINUTE", "1000000"),
            ("PORTCULLIS_RATE_LIMIT__PER_IP_PER_MINUTE", "1000000"),
            ("PORTCULLIS_DUALCONFIRM__MAX_CHECKS_PER_WINDOW", "1000000"),
            ("RUST_LOG", "error"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_database().await),
        };
        if let Some(url) = &database {
            vars.push(("PORTCULLIS_DATABASE_URL".into(), url.clone()));
        }
        Self {
            dir,
            vars,
            database,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("PORTCULLIS_CONFIG")
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// Runs a CLI command that must succeed; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run portcullis");
        assert!(
            out.status.success(),
            "portcullis {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The accounts made for the load, and the DualConfirm pair.
    pub fn cast(&self) -> Cast {
        let add = |tag: &str, role: Option<&str>| {
            let email = super::unique_email(tag);
            let mut args = vec!["user", "add", "--email", &email];
            if let Some(role) = role {
                args.extend(["--role", role]);
            }
            self.cli(&args);
            email
        };
        let sessions = (0..2).map(|_| add("sessions", None)).collect();
        let factors = (0..2).map(|_| add("factors", None)).collect();
        let advisor = add("advisor", Some("advisor"));
        let client = add("client", Some("client"));
        let pair = self
            .cli(&[
                "dualconfirm",
                "pair",
                "add",
                "--advisor",
                &advisor,
                "--client",
                &client,
            ])
            .trim()
            .to_owned();
        Cast {
            sessions,
            factors,
            advisor,
            client,
            pair,
        }
    }

    /// `portcullis audit verify` on the data as it is now.
    pub fn audit_verify(&self) {
        let out = self.cli(&["audit", "verify"]);
        assert!(out.contains("audit log intact"), "{out}");
    }

    /// Every account, by e-mail: its id and status (`portcullis user list`).
    pub fn accounts(&self) -> HashMap<String, (String, String)> {
        self.cli(&["user", "list", "--limit", "1000000"])
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\t');
                let (id, email, status) = (f.next()?, f.next()?, f.next()?);
                Some((email.to_owned(), (id.to_owned(), status.to_owned())))
            })
            .collect()
    }

    /// Where the development mail transport writes.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// How many audit ledger entries have this event and subject, read from its storage.
    pub async fn count_audit(&self, event: &str, subject: &str) -> i64 {
        match &self.database {
            Some(url) => {
                let q =
                    "SELECT COUNT(*) FROM ledger_audit.entries WHERE kind = $1 AND subject = $2";
                let mut c = PgConnection::connect(url).await.expect("connect");
                let query = sqlx::query_scalar::<_, i64>(q).bind(event).bind(subject);
                query.fetch_one(&mut c).await.expect("count")
            }
            None => {
                let q = "SELECT COUNT(*) FROM entries WHERE kind = $1 AND subject = $2";
                let path = self.dir.path().join("ledger-audit.db");
                let url = format!("sqlite://{}", path.display());
                let mut c = SqliteConnection::connect(&url).await.expect("connect");
                let query = sqlx::query_scalar::<_, i64>(q).bind(event).bind(subject);
                query.fetch_one(&mut c).await.expect("count")
            }
        }
    }

    /// Starts `portcullis serve` on a free port and waits until it listens.
    pub fn start(&self) -> Server {
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
        Server { child, url }
    }
}

/// One `portcullis serve` process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Server {
    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown, no flush, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
