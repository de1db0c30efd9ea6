//! The data directory a first start creates is its owner's alone: the directory 0700 and
//! every file in it 0600 (database, its WAL, keyring and signing keys).
#![cfg(unix)]
#![allow(clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use portcullis_server::config::Config;

#[tokio::test]
async fn a_first_start_keeps_the_data_directory_to_its_owner() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let state = portcullis_server::command_state(config)
        .await
        .expect("state");
    // A write, so SQLite has its -wal and -shm files too.
    state.store().health.ping().await.expect("ping");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .expect("metadata")
    };
    assert_eq!(mode(&data), 0o700);
    let files: Vec<_> = std::fs::read_dir(&data)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    for name in ["portcullis.db", "keyring.json", "signing-keys.json"] {
        assert!(
            files.iter().any(|p| p.ends_with(name)),
            "{name} in {files:?}"
        );
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert!(portcullis_server::datadir::too_open(&data).is_empty());
}
