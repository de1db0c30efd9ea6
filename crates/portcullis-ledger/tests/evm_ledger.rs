//! The `evm` backend against a real node (anvil from npm; `scripts/test` exports
//! PORTCULLIS_TEST_ANVIL): the contract's own rules called through alloy, then the
//! `EvmTokenLedger` over it with its index on SQLite and on PostgreSQL: the lifecycle, a
//! second node that learns the first one's writes from the events, a race lost on the chain,
//! and `verify` naming a tampered index.
#![cfg(feature = "evm")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent as _;
use portcullis_chain::Chain;
use portcullis_ledger::evm::contract::{self, PortcullisToken};
use portcullis_ledger::evm::{
    EvmSettings, EvmTokenLedger, IssuerKey, issuer_provider, sending_provider,
};
use portcullis_ledger::lifecycle::LifecycleError;
use portcullis_ledger::{Ledger, LedgerError, LedgerName, Location, TokenBackend, keys};
use serde_json::{Map, json};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

const PG_URL_VAR: &str = "PORTCULLIS_TEST_PG_URL";
const ISSUER: &str = "portcullis";

fn anvil() -> AnvilInstance {
    let path = std::env::var("PORTCULLIS_TEST_ANVIL")
        .expect("PORTCULLIS_TEST_ANVIL is not set: run the tests through scripts/test");
    Anvil::at(path).spawn()
}

fn key(node: &AnvilInstance, i: usize) -> PrivateKeySigner {
    let secret: [u8; 32] = node.keys()[i].to_bytes().into();
    PrivateKeySigner::from_bytes(&secret.into()).unwrap()
}

fn issuer_key(node: &AnvilInstance) -> IssuerKey {
    IssuerKey::from_secret(&node.keys()[0].to_bytes().into()).unwrap()
}

fn sender(node: &AnvilInstance, i: usize) -> DynProvider {
    sending_provider(&chain(node), EthereumWallet::from(key(node, i)))
}

fn chain(node: &AnvilInstance) -> Chain {
    Chain::connect(node.endpoint_url(), 31337)
}

async fn deployed(node: &AnvilInstance) -> (Address, u64) {
    contract::deploy(
        &issuer_provider(&chain(node), &issuer_key(node)),
        "Portcullis AuthNFT",
        "PCAUTH",
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_contract_lets_only_the_issuer_mint_move_and_burn_each_token_once() {
    let node = anvil();
    let (address, _) = deployed(&node).await;
    let issuer = PortcullisToken::new(address, sender(&node, 0));
    let stranger = PortcullisToken::new(address, sender(&node, 1));
    let wallet = key(&node, 2).address();
    let id = contract::token_uint("nft-1");
    assert_eq!(issuer.idOf("nft-1".into()).call().await.unwrap(), id);
    assert_eq!(
        issuer.issuer().call().await.unwrap(),
        key(&node, 0).address()
    );

    // Mint: ownerOf, and the Minted event carrying the string id and attributes.
    let receipt = issuer
        .mint(wallet, "nft-1".into(), "{\"a\":1}".into())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(issuer.ownerOf(id).call().await.unwrap(), wallet);
    let minted = receipt
        .decoded_log::<PortcullisToken::Minted>()
        .expect("a Minted event");
    assert_eq!(minted.token, "nft-1");
    assert_eq!(minted.attributes, "{\"a\":1}");
    assert_eq!(minted.owner, wallet);

    // Nobody but the issuer changes a token: not a stranger, not the owner itself.
    assert!(
        stranger
            .mint(wallet, "nft-2".into(), "{}".into())
            .send()
            .await
            .is_err()
    );
    assert!(
        stranger
            .moveToken(wallet, Address::repeat_byte(7), id)
            .send()
            .await
            .is_err()
    );
    assert!(stranger.burn(id).send().await.is_err());
    let owner = PortcullisToken::new(address, sender(&node, 2));
    assert!(
        owner
            .moveToken(wallet, Address::repeat_byte(7), id)
            .send()
            .await
            .is_err()
    );

    // Double mint refused; a move from someone who is not the owner refused.
    assert!(
        issuer
            .mint(wallet, "nft-1".into(), "{}".into())
            .send()
            .await
            .is_err()
    );
    assert!(
        issuer
            .moveToken(Address::repeat_byte(9), wallet, id)
            .send()
            .await
            .is_err()
    );

    // Move to the issuer, burn; then the burned token neither moves, burns nor comes back.
    let me = key(&node, 0).address();
    let moved = issuer
        .moveToken(wallet, me, id)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(moved.status());
    assert_eq!(issuer.ownerOf(id).call().await.unwrap(), me);
    let burned = issuer
        .burn(id)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(burned.status());
    assert!(issuer.ownerOf(id).call().await.is_err());
    assert!(issuer.wasMinted(id).call().await.unwrap());
    assert!(issuer.moveToken(me, wallet, id).send().await.is_err());
    assert!(issuer.burn(id).send().await.is_err());
    assert!(
        issuer
            .mint(wallet, "nft-1".into(), "{}".into())
            .send()
            .await
            .is_err()
    );

    // One Transfer per step: mint (from zero), move, burn (to zero).
    let logs = chain(&node)
        .provider()
        .get_logs(
            &Filter::new()
                .address(address)
                .event_signature(PortcullisToken::Transfer::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    let steps: Vec<(Address, Address)> = logs
        .iter()
        .map(|l| {
            let t = l
                .log_decode::<PortcullisToken::Transfer>()
                .unwrap()
                .inner
                .data;
            assert_eq!(t.tokenId, id);
            (t.from, t.to)
        })
        .collect();
    assert_eq!(
        steps,
        vec![(Address::ZERO, wallet), (wallet, me), (me, Address::ZERO)]
    );
    assert_eq!(U256::from(logs.len()), U256::from(3));
}

/// Where one test's index lives: SQLite in a temporary directory, or a fresh PostgreSQL
/// database.
struct Place {
    location: Location,
    dir: tempfile::TempDir,
}

impl Place {
    async fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = match backend {
            "sqlite" => Location::Sqlite(dir.path().to_path_buf()),
            _ => {
                let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
                    panic!("{PG_URL_VAR} is not set: run through scripts/test")
                });
                let name = format!("pcl_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                Location::Postgres(format!("{base}/{name}"))
            }
        };
        Self { location, dir }
    }

    /// A second place of the same kind (another node with an index of its own).
    async fn another(&self) -> Self {
        Self::new(match self.location {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        })
        .await
    }

    async fn ledger(&self, node: &AnvilInstance, contract: Address) -> EvmTokenLedger {
        let name = LedgerName::Auth;
        let signer =
            keys::load_or_create(self.dir.path(), name, &keys::origin("id.example", name)).unwrap();
        let ledger = Ledger::open(name, &self.location, signer, Arc::new(|| 1_800_000_000))
            .await
            .unwrap();
        let settings = EvmSettings {
            chain: chain(node),
            contract,
            start_block: 0,
            issuer_name: ISSUER.into(),
        };
        EvmTokenLedger::open(&ledger, settings, &issuer_key(node))
            .await
            .unwrap()
    }

    /// Changes the index behind the ledger's back.
    async fn tamper(&self, sql: &str) {
        match &self.location {
            Location::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.join("ledger-auth.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            Location::Postgres(url) => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                let sql = sql.replace("evm_tokens", "ledger_auth.evm_tokens");
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

macro_rules! both {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::Place::new("sqlite").await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::Place::new("postgres").await).await;
            })*
        }
    };
}

both!(
    the_lifecycle_runs_on_the_chain_and_reads_from_the_index,
    another_node_learns_the_writes_from_the_events_and_loses_a_race_on_the_chain,
    verify_names_a_tampered_index,
);

fn refused<T: std::fmt::Debug>(result: Result<T, LedgerError>) -> LifecycleError {
    match result {
        Err(LedgerError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn the_lifecycle_runs_on_the_chain_and_reads_from_the_index(place: Place) {
    let node = anvil();
    let (address, _) = deployed(&node).await;
    let auth = place.ledger(&node, address).await;
    let wallet = key(&node, 2).address().to_string();
    let mut attrs = Map::new();
    attrs.insert("session".into(), json!("s-1"));

    auth.mint(1, "nft-1", &wallet, attrs.clone()).await.unwrap();
    let live = auth.state("nft-1").await.unwrap().unwrap();
    assert_eq!((live.owner.as_str(), live.burned), (wallet.as_str(), false));
    assert_eq!(live.attributes, attrs);
    let on_chain = PortcullisToken::new(address, chain(&node).provider().clone());
    assert_eq!(
        on_chain
            .ownerOf(contract::token_uint("nft-1"))
            .call()
            .await
            .unwrap()
            .to_string(),
        wallet
    );

    // The rules refuse before anything is sent.
    assert_eq!(
        refused(auth.mint(2, "nft-1", &wallet, Map::new()).await),
        LifecycleError::AlreadyMinted
    );
    assert_eq!(
        refused(auth.transfer(2, "nft-1", ISSUER, &wallet).await),
        LifecycleError::NotOwner
    );
    assert_eq!(
        refused(auth.burn(2, "nft-9").await),
        LifecycleError::Unknown
    );
    assert!(matches!(
        refused(auth.mint(2, "nft-2", "not-an-address", Map::new()).await),
        LifecycleError::BadName { .. }
    ));

    auth.transfer(3, "nft-1", &wallet, ISSUER).await.unwrap();
    assert_eq!(auth.state("nft-1").await.unwrap().unwrap().owner, ISSUER);
    auth.burn(4, "nft-1").await.unwrap();
    assert!(auth.state("nft-1").await.unwrap().unwrap().burned);
    assert_eq!(
        refused(auth.transfer(5, "nft-1", ISSUER, &wallet).await),
        LifecycleError::Burned
    );
    assert!(auth.state("nft-never").await.unwrap().is_none());

    let report = auth.verify().await.unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert_eq!((report.tokens, report.events), (1, 3));
}

async fn another_node_learns_the_writes_from_the_events_and_loses_a_race_on_the_chain(
    place: Place,
) {
    let node = anvil();
    let (address, block) = deployed(&node).await;
    let a = place.ledger(&node, address).await;
    let other = place.another().await;
    let b = other.ledger(&node, address).await;
    let wallet = key(&node, 2).address().to_string();

    a.mint(1, "nft-1", &wallet, Map::new()).await.unwrap();
    assert!(
        b.state("nft-1").await.unwrap().is_none(),
        "b has not read the events yet"
    );
    assert!(b.sync().await.unwrap() >= block);
    assert_eq!(b.state("nft-1").await.unwrap().unwrap().owner, wallet);

    // a spends the token; b, not caught up, tries the same: the chain refuses b's transfer,
    // and b reports it as the rule it broke.
    a.transfer(2, "nft-1", &wallet, ISSUER).await.unwrap();
    assert_eq!(
        refused(b.transfer(2, "nft-1", &wallet, ISSUER).await),
        LifecycleError::NotOwner
    );
    assert_eq!(b.state("nft-1").await.unwrap().unwrap().owner, ISSUER);

    // Applying the same events again changes nothing.
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    for l in [&a, &b] {
        let report = l.verify().await.unwrap();
        assert!(report.differences.is_empty(), "{:?}", report.differences);
    }
}

async fn verify_names_a_tampered_index(place: Place) {
    let node = anvil();
    let (address, _) = deployed(&node).await;
    let auth = place.ledger(&node, address).await;
    let wallet = key(&node, 2).address().to_string();
    auth.mint(1, "nft-1", &wallet, Map::new()).await.unwrap();
    auth.mint(1, "nft-2", &wallet, Map::new()).await.unwrap();
    assert!(auth.verify().await.unwrap().differences.is_empty());

    // The index says nft-1 is burned and nft-2 belongs to someone else: a request would
    // read a lie, and the follower does not overwrite it (the events are older).
    place
        .tamper(&format!(
            "UPDATE evm_tokens SET burned = TRUE WHERE token = 'nft-1'; \
             UPDATE evm_tokens SET owner = '{}' WHERE token = 'nft-2'",
            Address::repeat_byte(0x11)
        ))
        .await;
    let report = auth.verify().await.unwrap();
    let named: Vec<&str> = report
        .differences
        .iter()
        .map(|d| d.token.as_str())
        .collect();
    assert!(
        named.contains(&"nft-1") && named.contains(&"nft-2"),
        "{:?}",
        report.differences
    );

    place
        .tamper("DELETE FROM evm_tokens WHERE token = 'nft-1'")
        .await;
    let report = auth.verify().await.unwrap();
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.token == "nft-1" && d.what.contains("missing from the index")),
        "{:?}",
        report.differences
    );
}
