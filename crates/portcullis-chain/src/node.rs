//! The JSON-RPC node: reads, fee estimates, broadcasts and receipts, each bounded in time.

use crate::error::ChainError;
use crate::transfer::TransferOrder;
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use std::future::Future;
use std::time::Duration;
use url::Url;

/// How long one call to the node may take before it counts as unreachable. A request never
/// waits longer than this on the chain.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// EIP-1559 fee caps in wei per gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

/// An account's balance at a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Wei.
    pub wei: U256,
    /// The block it was read at.
    pub block: u64,
}

/// The outcome of a mined transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Block it was mined in.
    pub block: u64,
    /// Whether it succeeded (status 1) or reverted (status 0).
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// What one unit of gas cost.
    pub effective_gas_price: u128,
}

/// A connection to one chain through one JSON-RPC endpoint. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Chain {
    provider: DynProvider,
    chain_id: u64,
}

impl Chain {
    /// A client of the node at `rpc_url` for chain `chain_id`. Nothing is sent yet; call
    /// [`Chain::verify`] to check the node serves that chain.
    pub fn connect(rpc_url: Url, chain_id: u64) -> Self {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(rpc_url)
            .erased();
        Self { provider, chain_id }
    }

    /// The configured chain id (what transactions are signed for).
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The provider, for contract bindings.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Checks that the node answers and serves the configured chain.
    pub async fn verify(&self) -> Result<(), ChainError> {
        let found = bounded(self.provider.get_chain_id()).await?;
        if found != self.chain_id {
            return Err(ChainError::WrongChain {
                expected: self.chain_id,
                found,
            });
        }
        Ok(())
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, ChainError> {
        bounded(self.provider.get_block_number()).await
    }

    /// `address`'s balance at the latest block.
    pub async fn balance(&self, address: Address) -> Result<Balance, ChainError> {
        let block = self.block_number().await?;
        let wei = bounded(async { self.provider.get_balance(address).number(block).await }).await?;
        Ok(Balance { wei, block })
    }

    /// The nonce `address`'s next transaction takes, counting transactions the node holds
    /// but has not mined.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64, ChainError> {
        bounded(async { self.provider.get_transaction_count(address).pending().await }).await
    }

    /// EIP-1559 fee caps from the node's recent blocks (`eth_feeHistory`).
    pub async fn fees(&self) -> Result<Fees, ChainError> {
        let e = bounded(self.provider.estimate_eip1559_fees()).await?;
        Ok(Fees {
            max_fee_per_gas: e.max_fee_per_gas,
            max_priority_fee_per_gas: e.max_priority_fee_per_gas,
        })
    }

    /// The gas `order` sent from `from` would use. Fails with [`ChainError::Rejected`] when
    /// the node would refuse it (more than the balance, a reverting call).
    pub async fn estimate_gas(
        &self,
        from: Address,
        order: &TransferOrder,
    ) -> Result<u64, ChainError> {
        let request = TransactionRequest::default()
            .from(from)
            .to(order.to)
            .value(order.value)
            .input(order.data.clone().into());
        bounded(async { self.provider.estimate_gas(request).await }).await
    }

    /// Broadcasts a signed transaction. [`ChainError::Rejected`] means the node refused it
    /// (nothing sent); [`ChainError::Unreachable`] leaves it in doubt.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<TxHash, ChainError> {
        let pending = bounded(self.provider.send_raw_transaction(raw)).await?;
        Ok(*pending.tx_hash())
    }

    /// The receipt of `hash`, or `None` while it is not mined.
    pub async fn receipt(&self, hash: TxHash) -> Result<Option<Receipt>, ChainError> {
        let receipt = bounded(self.provider.get_transaction_receipt(hash)).await?;
        Ok(receipt.map(|r| Receipt {
            block: r.block_number.unwrap_or_default(),
            success: r.status(),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
        }))
    }

    /// Whether the node knows `hash` (pending or mined).
    pub async fn knows(&self, hash: TxHash) -> Result<bool, ChainError> {
        let tx = bounded(self.provider.get_transaction_by_hash(hash)).await?;
        Ok(tx.is_some())
    }
}

/// Runs one call to the node with [`CALL_TIMEOUT`].
pub(crate) async fn bounded<T, E>(call: impl Future<Output = Result<T, E>>) -> Result<T, ChainError>
where
    ChainError: From<E>,
{
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(ChainError::from),
        Err(_) => Err(ChainError::Unreachable(format!(
            "no answer within {} s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}
