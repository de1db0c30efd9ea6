//! `Chain` against a real node: anvil from npm (scripts/test exports PORTCULLIS_TEST_ANVIL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::node_bindings::{Anvil, AnvilInstance};
use portcullis_chain::{
    Address, Chain, ChainError, CustodialKey, HistoryQuery, TransferOrder, TxParams, U256,
    sign_transfer,
};
use std::time::Duration;

fn anvil() -> AnvilInstance {
    let path = std::env::var("PORTCULLIS_TEST_ANVIL")
        .expect("PORTCULLIS_TEST_ANVIL is not set: run the tests through scripts/test");
    Anvil::at(path).spawn()
}

fn funded_key(node: &AnvilInstance) -> CustodialKey {
    let bytes: [u8; 32] = node.keys()[0].to_bytes().into();
    CustodialKey::from_secret(&bytes).expect("anvil's key")
}

async fn mined(chain: &Chain, hash: portcullis_chain::TxHash) -> portcullis_chain::Receipt {
    for _ in 0..100 {
        if let Some(r) = chain.receipt(hash).await.expect("receipt") {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{hash} not mined within 5 s");
}

async fn send(
    chain: &Chain,
    key: &CustodialKey,
    order: &TransferOrder,
) -> portcullis_chain::TxHash {
    let params = TxParams {
        chain_id: chain.chain_id(),
        nonce: chain.pending_nonce(key.address()).await.expect("nonce"),
        gas_limit: chain.estimate_gas(key.address(), order).await.expect("gas"),
        fees: chain.fees().await.expect("fees"),
    };
    let signed = sign_transfer(key, order, params).expect("sign");
    let hash = chain.send_raw(&signed.raw).await.expect("send");
    assert_eq!(hash, signed.hash);
    hash
}

#[tokio::test]
async fn a_transfer_moves_value_shows_in_both_histories_and_has_a_receipt() {
    let node = anvil();
    let chain = Chain::connect(node.endpoint_url(), 31337);
    chain.verify().await.expect("the node serves 31337");

    let funder = funded_key(&node);
    let wallet = CustodialKey::generate().expect("key");
    assert_eq!(
        chain.balance(wallet.address()).await.expect("balance").wei,
        U256::ZERO
    );

    let one_eth = U256::from(10u64).pow(U256::from(18));
    let order = TransferOrder {
        to: wallet.address(),
        value: one_eth,
        data: Default::default(),
    };
    let hash = send(&chain, &funder, &order).await;
    let receipt = mined(&chain, hash).await;
    assert!(receipt.success);
    assert_eq!(receipt.gas_used, 21_000);
    assert!(chain.knows(hash).await.expect("knows"));
    assert_eq!(
        chain.balance(wallet.address()).await.expect("balance").wei,
        one_eth
    );

    // The new wallet sends part of it back.
    let back = TransferOrder {
        to: funder.address(),
        value: U256::from(1_000u64),
        data: Default::default(),
    };
    let back_hash = send(&chain, &wallet, &back).await;
    assert!(mined(&chain, back_hash).await.success);

    let query = HistoryQuery {
        blocks: 1_000,
        limit: 10,
    };
    let history = chain
        .history(wallet.address(), query)
        .await
        .expect("history");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].tx_hash, back_hash, "newest first");
    assert!(history[0].outgoing);
    assert_eq!(history[0].value, U256::from(1_000u64));
    assert_eq!(history[1].tx_hash, hash);
    assert!(!history[1].outgoing);
    assert_eq!(history[1].from, funder.address());
    assert_eq!(history[1].value, one_eth);

    let limited = chain
        .history(
            wallet.address(),
            HistoryQuery {
                blocks: 1_000,
                limit: 1,
            },
        )
        .await
        .expect("history");
    assert_eq!(limited.len(), 1);
}

#[tokio::test]
async fn the_node_refuses_more_than_the_balance_and_a_reused_nonce() {
    let node = anvil();
    let chain = Chain::connect(node.endpoint_url(), 31337);
    let wallet = CustodialKey::generate().expect("key");
    let order = TransferOrder {
        to: Address::repeat_byte(7),
        value: U256::from(1u64),
        data: Default::default(),
    };
    // An empty wallet's transfer: the node refuses the broadcast (the estimate does not
    // look at the balance, so the caller must).
    let params = TxParams {
        chain_id: 31337,
        nonce: 0,
        gas_limit: 21_000,
        fees: chain.fees().await.expect("fees"),
    };
    let broke = sign_transfer(&wallet, &order, params).expect("sign");
    let sent = chain.send_raw(&broke.raw).await;
    assert!(matches!(sent, Err(ChainError::Rejected(_))), "{sent:?}");
    assert!(!chain.knows(broke.hash).await.expect("knows"));

    let funder = funded_key(&node);
    let first = send(&chain, &funder, &order).await;
    mined(&chain, first).await;
    let params = TxParams {
        chain_id: 31337,
        nonce: 0,
        gas_limit: 21_000,
        fees: chain.fees().await.expect("fees"),
    };
    let reused = sign_transfer(&funder, &order, params).expect("sign");
    let sent = chain.send_raw(&reused.raw).await;
    assert!(matches!(sent, Err(ChainError::Rejected(_))), "{sent:?}");
}

#[tokio::test]
async fn a_wrong_chain_id_and_a_node_that_is_down_are_errors() {
    let node = anvil();
    let wrong = Chain::connect(node.endpoint_url(), 1);
    assert!(matches!(
        wrong.verify().await,
        Err(ChainError::WrongChain {
            expected: 1,
            found: 31337
        })
    ));
    let url = node.endpoint_url();
    drop(node);
    let down = Chain::connect(url, 31337);
    let r = down.balance(Address::ZERO).await;
    assert!(matches!(r, Err(ChainError::Unreachable(_))), "{r:?}");
}
