//! A local Ethereum node for the custodial-wallet tests: anvil from npm
//! (`PORTCULLIS_TEST_ANVIL`, installed by `scripts/test`), on a free port, one per test.

use alloy::node_bindings::{Anvil, AnvilInstance};
use portcullis_chain::{Chain, CustodialKey, Receipt, TransferOrder, TxHash, TxParams, U256};
use std::time::Duration;

use super::require_env;

/// Anvil's chain id.
pub const CHAIN_ID: u64 = 31337;

/// One ether in wei.
pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// A fresh node; stops when dropped.
pub fn anvil() -> AnvilInstance {
    Anvil::at(require_env("PORTCULLIS_TEST_ANVIL")).spawn()
}

/// A client of `node`.
pub fn chain_of(node: &AnvilInstance) -> Chain {
    Chain::connect(node.endpoint_url(), CHAIN_ID)
}

/// Anvil's funded account number `i`.
pub fn funded(node: &AnvilInstance, i: usize) -> CustodialKey {
    let bytes: [u8; 32] = node.keys()[i].to_bytes().into();
    CustodialKey::from_secret(&bytes).expect("anvil's key")
}

/// Sends `value` from `from` to `to` and waits for the receipt.
pub async fn pay(chain: &Chain, from: &CustodialKey, to: &str, value: U256) -> TxHash {
    let order = TransferOrder {
        to: to.parse().expect("an address"),
        value,
        data: Default::default(),
    };
    let params = TxParams {
        chain_id: CHAIN_ID,
        nonce: chain.pending_nonce(from.address()).await.expect("nonce"),
        gas_limit: 21_000,
        fees: chain.fees().await.expect("fees"),
    };
    let signed = portcullis_chain::sign_transfer(from, &order, params).expect("sign");
    let hash = chain.send_raw(&signed.raw).await.expect("send");
    mined(chain, hash).await;
    hash
}

/// Waits (up to 10 s) for `hash`'s receipt.
pub async fn mined(chain: &Chain, hash: TxHash) -> Receipt {
    for _ in 0..200 {
        if let Some(r) = chain.receipt(hash).await.expect("receipt") {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{hash} was not mined within 10 s");
}
