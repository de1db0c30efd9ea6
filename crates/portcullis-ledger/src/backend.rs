//! [`TokenBackend`]: what the server asks of the `auth` and `req` ledgers, whichever holds
//! them: the embedded Merkle ledger ([`TokenLedger`]) or, with the `evm` feature, an ERC-721
//! contract on a chain (`evm::EvmTokenLedger`).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::LedgerError;
use crate::lifecycle::TokenState;
use crate::tokens::TokenLedger;

/// A token ledger's lifecycle: mint, transfer, burn, and the token's state now.
///
/// Writes are answered once durable (committed to the embedded ledger, or mined on the
/// chain); a write that breaks a lifecycle rule fails with [`LedgerError::Refused`], so of two
/// requests racing for one token exactly one succeeds. [`TokenBackend::state`] never waits on
/// a chain: it reads a local index.
#[async_trait]
pub trait TokenBackend: Send + Sync + std::fmt::Debug {
    /// Creates `token` owned by `owner`.
    async fn mint(
        &self,
        at: i64,
        token: &str,
        owner: &str,
        attributes: Map<String, Value>,
    ) -> Result<(), LedgerError>;

    /// Hands `token` from its owner `from` to `to`.
    async fn transfer(&self, at: i64, token: &str, from: &str, to: &str)
    -> Result<(), LedgerError>;

    /// Ends `token` for good.
    async fn burn(&self, at: i64, token: &str) -> Result<(), LedgerError>;

    /// The token's state now, if it was ever minted.
    async fn state(&self, token: &str) -> Result<Option<TokenState>, LedgerError>;
}

#[async_trait]
impl TokenBackend for TokenLedger {
    async fn mint(
        &self,
        at: i64,
        token: &str,
        owner: &str,
        attributes: Map<String, Value>,
    ) -> Result<(), LedgerError> {
        TokenLedger::mint(self, at, token, owner, attributes)
            .await
            .map(drop)
    }

    async fn transfer(
        &self,
        at: i64,
        token: &str,
        from: &str,
        to: &str,
    ) -> Result<(), LedgerError> {
        TokenLedger::transfer(self, at, token, from, to)
            .await
            .map(drop)
    }

    async fn burn(&self, at: i64, token: &str) -> Result<(), LedgerError> {
        TokenLedger::burn(self, at, token).await.map(drop)
    }

    async fn state(&self, token: &str) -> Result<Option<TokenState>, LedgerError> {
        TokenLedger::state(self, token).await
    }
}
