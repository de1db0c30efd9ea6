//! Portcullis' access to an Ethereum chain through a JSON-RPC node (`[chain] rpc_url`).
//!
//! Two parts of Portcullis touch a chain: custodial wallets (keys generated and kept on the
//! server, transfers signed here and sent through the node) and, behind a feature, the
//! ledgers' ERC-721 contracts. Both go through [`Chain`], a thin wrapper over an alloy
//! provider that bounds every call in time, checks the node serves the configured chain and
//! turns the node's answers into [`ChainError`]s that say whether anything could have been
//! sent.
//!
//! Keys are [`CustodialKey`]s: their `Debug` shows the address only, and their secret leaves
//! them only as a [`zeroize::Zeroizing`] buffer for sealing. Transactions are EIP-1559
//! ([`sign_transfer`]), messages EIP-191 ([`CustodialKey::sign_message`]).

mod error;
mod history;
mod key;
mod node;
mod transfer;

pub use error::ChainError;
pub use history::{HistoryQuery, TransferRecord};
pub use key::{CustodialKey, KeyError};
pub use node::{Balance, Chain, Fees, Receipt};
pub use transfer::{SignedTransfer, TransferOrder, TxParams, sign_transfer};

/// The primitive types callers name: addresses, amounts in wei, hashes, call data.
pub use alloy::primitives::{Address, B256, Bytes, TxHash, U256};
