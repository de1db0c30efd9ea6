//! `portcullis ledger deploy` and `portcullis ledger verify` with `[ledger] backend = "evm"`
//! (feature `evm`), run as the real binary against anvil (`scripts/test` exports
//! PORTCULLIS_TEST_ANVIL): deploy prints the configuration, verify passes on an index that
//! follows the contract's events, and names a token whose index row was edited.
#![cfg(feature = "evm")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use alloy::node_bindings::Anvil;
use alloy::primitives::Address;
use portcullis_ledger::evm::contract::PortcullisToken;
use portcullis_ledger::evm::{IssuerKey, issuer_provider};
use sqlx::{Connection as _, SqliteConnection};

fn portcullis(data_dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("PORTCULLIS_PUBLIC_URL", "https://id.cli.test")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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

/// The value of `key = value` in the printed TOML, unquoted.
fn value(toml: &str, key: &str) -> String {
    toml.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {toml}"))
        .trim_matches('"')
        .to_owned()
}

#[test]
fn deploy_then_verify_the_index_against_the_contracts() {
    let anvil = Anvil::at(
        std::env::var("PORTCULLIS_TEST_ANVIL")
            .expect("PORTCULLIS_TEST_ANVIL is not set: run the tests through scripts/test"),
    )
    .spawn();
    let dir = tempfile::tempdir().unwrap();
    // The issuer is a funded account of the node's.
    let secret: [u8; 32] = anvil.keys()[0].to_bytes().into();
    std::fs::write(
        dir.path().join("ledger-evm-issuer.key"),
        hex::encode(secret),
    )
    .unwrap();
    let mut env = vec![
        ("PORTCULLIS_CHAIN__RPC_URL".to_owned(), anvil.endpoint()),
        ("PORTCULLIS_CHAIN__CHAIN_ID".to_owned(), "31337".to_owned()),
    ];

    let printed = ok(&portcullis(dir.path(), &env, &["ledger", "deploy"]));
    assert!(printed.contains("backend = \"evm\""), "{printed}");
    let auth = value(&printed, "auth_contract");
    env.extend([
        ("PORTCULLIS_LEDGER__BACKEND".to_owned(), "evm".to_owned()),
        (
            "PORTCULLIS_LEDGER__EVM__AUTH_CONTRACT".to_owned(),
            auth.clone(),
        ),
        (
            "PORTCULLIS_LEDGER__EVM__REQ_CONTRACT".to_owned(),
            value(&printed, "req_contract"),
        ),
        (
            "PORTCULLIS_LEDGER__EVM__START_BLOCK".to_owned(),
            value(&printed, "start_block"),
        ),
    ]);
    // Opens the node's ledgers as a server does (keys, index), writing nothing.
    ok(&portcullis(
        dir.path(),
        &env,
        &[
            "ledger", "load", "--ledger", "auth", "--tasks", "1", "--count", "0",
        ],
    ));

    // A token minted on the chain (by the issuer, as a node elsewhere would): verify reads
    // it into the index and finds them in agreement.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let chain = portcullis_chain::Chain::connect(anvil.endpoint_url(), 31337);
        let sender = issuer_provider(&chain, &IssuerKey::from_secret(&secret).unwrap());
        let contract = PortcullisToken::new(auth.parse::<Address>().unwrap(), sender);
        let receipt = contract
            .mint(Address::repeat_byte(0x22), "nft-cli".into(), "{}".into())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
    });
    let out = ok(&portcullis(dir.path(), &env, &["ledger", "verify"]));
    assert!(
        out.contains(&format!(
            "auth: contract {auth} matches the index: 1 tokens"
        )),
        "{out}"
    );
    assert!(out.contains("req: contract "), "{out}");

    // The index row says burned: verify names the token and fails.
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger-auth.db").display());
        let mut db = SqliteConnection::connect(&url).await.unwrap();
        let changed = sqlx::query("UPDATE evm_tokens SET burned = TRUE WHERE token = 'nft-cli'")
            .execute(&mut db)
            .await
            .unwrap();
        assert_eq!(changed.rows_affected(), 1);
        db.close().await.unwrap();
    });
    let out = portcullis(dir.path(), &env, &["ledger", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("auth: nft-cli: burned false on the chain, true in the index"),
        "{stderr}"
    );
}
