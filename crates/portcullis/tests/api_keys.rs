//! `portcullis apikey …`, tested by running the real binary: keys made, listed and revoked
//! offline on a data directory that a running `portcullis serve` also uses. The server
//! accepts a key made by the CLI and refuses it from the request after the CLI revoked it;
//! neither the server's log (at `debug`) nor any file of the data directory holds a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn portcullis(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "debug")
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

/// `id: …` and `key: …` from the output of `apikey add`.
fn id_and_key(out: &str) -> (String, String) {
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .trim()
            .to_owned()
    };
    (field("id:"), field("key:"))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// `portcullis serve` on a free port, logging at `debug` into `log`; killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(data_dir: &Path, log: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
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

    async fn current(&self, key: &str, origin: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new()
            .get(format!("{}/v1/api-keys/current", self.url))
            .header("x-api-key", key);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_made_listed_and_revoked_from_the_cli_and_never_stored_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for cmd in [
        vec!["apikey", "--help"],
        vec!["apikey", "add", "--help"],
        vec!["apikey", "revoke", "--help"],
    ] {
        assert!(ok(&portcullis(&data, &cmd)).contains("Usage"));
    }

    let add = portcullis(
        &data,
        &[
            "apikey",
            "add",
            "--name",
            "shop",
            "--scope",
            "wallets:read",
            "--scope",
            "wallets:send",
            "--origin",
            "https://shop.example.com",
            "--rate",
            "100",
        ],
    );
    let (id, key) = id_and_key(&ok(&add));
    assert!(key.starts_with("pk_live_") && key.len() == 51, "{key}");
    let secret = key["pk_live_".len()..].to_owned();
    assert!(!contains(&add.stderr, &secret), "the key reached the log");
    let (other, other_key) = id_and_key(&ok(&portcullis(
        &data,
        &[
            "apikey",
            "add",
            "--name",
            "any origin",
            "--scope",
            "wallets:sign",
        ],
    )));

    // Refused: an unknown scope, no scope, a bad origin.
    for args in [
        vec!["apikey", "add", "--name", "x", "--scope", "wallets:admin"],
        vec!["apikey", "add", "--name", "x"],
        vec![
            "apikey",
            "add",
            "--name",
            "x",
            "--scope",
            "wallets:read",
            "--origin",
            "shop",
        ],
    ] {
        let out = portcullis(&data, &args);
        assert!(!out.status.success(), "{args:?} was accepted");
    }
    let unknown = portcullis(&data, &["apikey", "add", "--name", "x", "--scope", "nope"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown scope \"nope\""));

    let list = ok(&portcullis(&data, &["apikey", "list"]));
    let prefix = &key[..14];
    assert!(
        list.contains(&format!(
            "{id}\t{prefix}\tshop\tactive\twallets:read wallets:send\thttps://shop.example.com\t100/min"
        )),
        "{list}"
    );
    assert!(
        list.contains(&format!(
            "{other}\t{}\tany origin\tactive\twallets:sign\t*\tdefault",
            &other_key[..14]
        )),
        "{list}"
    );
    assert!(!list.contains(&secret), "{list}");

    // A running server on the same data takes the CLI's keys, and its revocations at once.
    let log = dir.path().join("serve.log");
    let server = Served::start(&data, &log);
    let (status, me) = server.current(&key, Some("https://shop.example.com")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], serde_json::json!(id));
    assert_eq!(
        server.current(&key, Some("https://evil.example")).await.0,
        403
    );
    assert_eq!(
        server
            .current(&other_key, Some("https://evil.example"))
            .await
            .0,
        200
    );

    assert!(ok(&portcullis(&data, &["apikey", "revoke", &id])).contains(&id));
    let (status, problem) = server.current(&key, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        problem["type"],
        "https://portcullis.dev/problems/api-key-invalid"
    );
    assert_eq!(server.current(&other_key, None).await.0, 200);
    let list = ok(&portcullis(&data, &["apikey", "list"]));
    assert!(
        list.contains(&format!("{id}\t{prefix}\tshop\trevoked")),
        "{list}"
    );
    // Again: nothing changes; an unknown id is an error.
    ok(&portcullis(&data, &["apikey", "revoke", &id]));
    let gone = portcullis(
        &data,
        &["apikey", "revoke", "0190a0b1-0000-7000-8000-000000000000"],
    );
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no such API key"));
    drop(server);

    // Neither key is in the server's log or anywhere in the data directory.
    let logged = std::fs::read(&log).unwrap();
    assert!(contains(&logged, "api-keys/current"), "the log is empty?");
    let mut files = vec![log];
    for entry in std::fs::read_dir(&data).unwrap() {
        files.push(entry.unwrap().path());
    }
    for path in files.iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(path).unwrap();
        for s in [&secret, &other_key["pk_live_".len()..].to_owned()] {
            assert!(!contains(&bytes, s), "a key is in {}", path.display());
        }
    }

    // Every change is in the audit chain (two keys made, one revoked), which still verifies.
    let verified = ok(&portcullis(&data, &["audit", "verify"]));
    assert!(verified.contains("3 entries verified"), "{verified}");
}
