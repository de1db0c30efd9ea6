//! What can go wrong talking to a node, sorted by what the caller must do about it.

use alloy::transports::{RpcError, TransportErrorKind};

/// A failed call to the chain node.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached or did not answer in time. For a broadcast this is
    /// ambiguous: the transaction may or may not have reached the node.
    #[error("the chain node cannot be reached: {0}")]
    Unreachable(String),
    /// The node answered with a JSON-RPC error (an invalid transaction, insufficient funds,
    /// a nonce already used): nothing was accepted.
    #[error("the chain node refused the request: {0}")]
    Rejected(String),
    /// The node serves another chain than the configuration names.
    #[error("the chain node serves chain id {found}, the configuration names {expected}")]
    WrongChain {
        /// `[chain] chain_id`.
        expected: u64,
        /// What `eth_chainId` answered.
        found: u64,
    },
    /// An answer that does not parse as what was asked for.
    #[error("unexpected answer from the chain node: {0}")]
    Protocol(String),
}

impl From<RpcError<TransportErrorKind>> for ChainError {
    fn from(e: RpcError<TransportErrorKind>) -> Self {
        match e {
            RpcError::ErrorResp(payload) => ChainError::Rejected(payload.message.to_string()),
            RpcError::Transport(kind) => ChainError::Unreachable(kind.to_string()),
            RpcError::NullResp => ChainError::Protocol("null response".into()),
            other => ChainError::Protocol(other.to_string()),
        }
    }
}
