//! An address's transfers, read from the node's traces (`trace_filter`, which Besu, Erigon,
//! Reth and anvil serve). Traces, unlike a scan of transactions, also show ETH that reached
//! the address inside a contract call.

use crate::error::ChainError;
use crate::node::{Chain, bounded};
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::ext::TraceApi as _;
use alloy::rpc::types::trace::filter::TraceFilter;
use alloy::rpc::types::trace::parity::{Action, LocalizedTransactionTrace};

/// Which part of the history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// How many blocks back from the latest to search (a node answers a trace filter over a
    /// long range slowly; production set-ups bound it or index elsewhere).
    pub blocks: u64,
    /// At most this many transfers, newest first.
    pub limit: usize,
}

/// One movement of ETH to or from the address.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TransferRecord {
    /// The transaction it is part of.
    pub tx_hash: TxHash,
    /// The block it was mined in.
    pub block: u64,
    /// Sender of the call.
    pub from: Address,
    /// Recipient of the call.
    pub to: Address,
    /// Wei moved.
    pub value: U256,
    /// Whether the address sent (`true`) or received it.
    pub outgoing: bool,
    /// Whether it happened inside a contract call rather than as the transaction itself.
    pub internal: bool,
    /// Whether the call failed (its value did not move).
    pub failed: bool,
}

impl Chain {
    /// The transfers of `address` within `query`, newest first: calls it made (with or
    /// without value) and value it received.
    pub async fn history(
        &self,
        address: Address,
        query: HistoryQuery,
    ) -> Result<Vec<TransferRecord>, ChainError> {
        let latest = self.block_number().await?;
        let from_block = latest.saturating_sub(query.blocks);
        let sent = TraceFilter::default()
            .from_block(from_block)
            .to_block(latest)
            .from_address(vec![address]);
        let received = TraceFilter::default()
            .from_block(from_block)
            .to_block(latest)
            .to_address(vec![address]);
        let provider = self.provider();
        let sent = bounded(async { provider.trace_filter(&sent).await }).await?;
        let received = bounded(async { provider.trace_filter(&received).await }).await?;
        let mut records: Vec<TransferRecord> = sent
            .iter()
            .chain(received.iter())
            .filter_map(|t| record_of(t, address))
            .collect();
        records.sort_by(|a, b| b.block.cmp(&a.block).then(a.tx_hash.cmp(&b.tx_hash)));
        records.dedup();
        records.truncate(query.limit);
        Ok(records)
    }
}

/// The transfer a trace shows for `address`, if it is one: a call from or to the address
/// that is the transaction itself or moves value.
fn record_of(trace: &LocalizedTransactionTrace, address: Address) -> Option<TransferRecord> {
    let Action::Call(call) = &trace.trace.action else {
        return None;
    };
    let internal = !trace.trace.trace_address.is_empty();
    if internal && call.value.is_zero() {
        return None;
    }
    let outgoing = call.from == address;
    if !outgoing && call.to != address {
        return None;
    }
    if !outgoing && call.value.is_zero() {
        return None;
    }
    Some(TransferRecord {
        tx_hash: trace.transaction_hash?,
        block: trace.block_number?,
        from: call.from,
        to: call.to,
        value: call.value,
        outgoing,
        internal,
        failed: trace.trace.error.is_some(),
    })
}
