//! `[chain]`: the Ethereum JSON-RPC node Portcullis talks to (custodial wallets, and the
//! ledgers' contracts with `[ledger] backend = "evm"`).

use serde::{Deserialize, Serialize};
use url::Url;

/// The chain node.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// The node's JSON-RPC endpoint (`http://` or `https://`).
    pub rpc_url: Url,
    /// The EIP-155 chain id the node must serve (checked at start-up); transactions are
    /// signed for it.
    pub chain_id: u64,
}

impl ChainConfig {
    /// Checks what serde cannot.
    ///
    /// # Errors
    /// An endpoint that is not HTTP(S).
    pub fn validate(&self) -> Result<(), super::InvalidValue> {
        if !matches!(self.rpc_url.scheme(), "http" | "https") {
            return Err(super::InvalidValue::new(
                "chain.rpc_url",
                "must start with http:// or https://",
            ));
        }
        Ok(())
    }
}
