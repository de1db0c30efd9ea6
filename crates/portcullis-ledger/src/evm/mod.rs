//! A token ledger (`auth` or `req`) held by an ERC-721 contract on a chain (feature `evm`).
//!
//! Writes (mint, transfer, burn) are contract calls signed by the issuer's key; each waits
//! for its receipt, so a write the contract refused (two logins racing for one AuthNFT: the
//! loser's transfer reverts on the owner check) fails the request. Reads never touch the
//! chain: [`EvmTokenLedger::state`] reads a local [`index`] fed by the receipts of this
//! node's writes and by a follower that reads the contract's events from where it stopped
//! ([`EvmTokenLedger::sync`], run in the background by [`EvmTokenLedger::spawn_follower`]).
//! [`EvmTokenLedger::verify`] re-reads every event from the chain and compares it with the
//! index.
//!
//! The contract's owners are addresses; the ledger's owner names are EIP-55 addresses too,
//! except the issuer, which the ledger names by a word of its own (the server's `portcullis`):
//! that word is the issuer's address on the chain.

pub mod contract;
mod follow;
pub mod index;
pub mod issuer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use async_trait::async_trait;
use portcullis_chain::Chain;
use serde_json::{Map, Value};

use crate::LedgerError;
use crate::backend::TokenBackend;
use crate::ledger::Ledger;
use crate::lifecycle::{self, LifecycleError, TokenOp, TokenState};
use contract::PortcullisToken;
pub use follow::{Difference, VerifyReport};
use index::Index;
pub use issuer::IssuerKey;

/// How long a write waits for its transaction to be mined.
pub(crate) const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one read of the chain may take.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong with the chain side of a ledger.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// The issuer's key file.
    #[error("issuer key: {0}")]
    Key(String),
    /// The embedded contract build is unreadable.
    #[error("contract build: {0}")]
    Artifact(String),
    /// The node refused a transaction or could not be reached sending it.
    #[error("sending to the chain: {0}")]
    Send(String),
    /// A transaction was mined but reverted.
    #[error("the contract reverted: {0}")]
    Reverted(String),
    /// A read of the chain failed.
    #[error("reading the chain: {0}")]
    Read(String),
    /// No answer in time (a write may still be mined: the follower will see it).
    #[error("the chain did not answer within {0} s")]
    Timeout(u64),
}

impl From<EvmError> for LedgerError {
    fn from(e: EvmError) -> Self {
        LedgerError::Chain(e.to_string())
    }
}

/// Runs `call` with a time limit.
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = T>,
) -> Result<T, EvmError> {
    tokio::time::timeout(limit, call)
        .await
        .map_err(|_| EvmError::Timeout(limit.as_secs()))
}

/// Where a ledger's contract is and how to reach it.
#[derive(Clone, Debug)]
pub struct EvmSettings {
    /// The node (`[chain] rpc_url`, `chain_id`).
    pub chain: Chain,
    /// The contract's address.
    pub contract: Address,
    /// The block the follower starts from on a fresh index (the deployment's block, or 0).
    pub start_block: u64,
    /// The ledger's name for the issuer as an owner (the server's `portcullis`).
    pub issuer_name: String,
}

/// A token ledger on a chain. Cheap to clone.
#[derive(Clone)]
pub struct EvmTokenLedger {
    inner: Arc<Inner>,
}

struct Inner {
    settings: EvmSettings,
    issuer: Address,
    sender: DynProvider,
    index: Index,
    /// One write at a time from this node: each takes the issuer's next nonce.
    writes: tokio::sync::Mutex<()>,
    /// One follower pass at a time.
    follow: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for EvmTokenLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmTokenLedger")
            .field(
                "contract",
                &format_args!("{}", self.inner.settings.contract),
            )
            .field("issuer", &format_args!("{}", self.inner.issuer))
            .finish_non_exhaustive()
    }
}

/// A provider over `chain`'s node that signs and sends the issuer's transactions.
pub fn issuer_provider(chain: &Chain, issuer: &IssuerKey) -> DynProvider {
    sending_provider(chain, issuer.wallet())
}

/// A provider over `chain`'s node that signs with `wallet`, with gas, fees and nonce filled
/// in from the node. The nonce is asked of the node for every transaction (alloy's default
/// caches it, and a transaction refused before it was sent would leave a gap that stalls
/// every later one).
pub fn sending_provider(chain: &Chain, wallet: EthereumWallet) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .with_chain_id(chain.chain_id())
        .wallet(wallet)
        .connect_provider(chain.provider().clone())
        .erased()
}

impl EvmTokenLedger {
    /// The token ledger of `ledger` (whose storage holds the index) on the contract in
    /// `settings`, written by `issuer`. Nothing is sent to the chain.
    ///
    /// # Errors
    /// [`LedgerError::WrongKind`] for the audit ledger; [`LedgerError::Corrupt`] when the
    /// index follows another contract; storage failures.
    pub async fn open(
        ledger: &Ledger,
        settings: EvmSettings,
        issuer: &IssuerKey,
    ) -> Result<Self, LedgerError> {
        if !ledger.name().holds_tokens() {
            return Err(LedgerError::WrongKind);
        }
        let index = Index::new(ledger.storage().clone());
        index
            .open_cursor(settings.contract, settings.start_block)
            .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                sender: issuer_provider(&settings.chain, issuer),
                issuer: issuer.address(),
                settings,
                index,
                writes: tokio::sync::Mutex::new(()),
                follow: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The contract's address.
    pub fn contract(&self) -> Address {
        self.inner.settings.contract
    }

    /// The chain account whose name is `owner` on the ledger.
    fn address_of(&self, what: &'static str, owner: &str) -> Result<Address, LedgerError> {
        if owner == self.inner.settings.issuer_name {
            return Ok(self.inner.issuer);
        }
        owner
            .parse::<Address>()
            .map_err(|_| LedgerError::Refused(LifecycleError::BadName { what }))
    }

    /// The ledger's name for the chain account `address`.
    fn name_of(&self, address: Address) -> String {
        if address == self.inner.issuer {
            self.inner.settings.issuer_name.clone()
        } else {
            address.to_string()
        }
    }

    /// Checks `op` against the index, sends it, waits for its receipt and applies the
    /// receipt's events to the index.
    async fn write(&self, op: TokenOp) -> Result<(), LedgerError> {
        lifecycle::check_shape(&op)?;
        match &op {
            TokenOp::Mint { owner, .. } => drop(self.address_of("owner", owner)?),
            TokenOp::Transfer { from, to, .. } => {
                self.address_of("from", from)?;
                self.address_of("to", to)?;
            }
            TokenOp::Burn { .. } => {}
        }
        let _one_at_a_time = self.inner.writes.lock().await;
        let current = self.state(op.token()).await?;
        lifecycle::apply(current.as_ref(), &op)?;
        match self.send(&op).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Refused by the chain, or in doubt: catch up with the chain and ask the
                // rules again, so that a token another node spent reads as refused.
                if let Err(sync) = self.sync().await {
                    tracing::warn!(error = %sync, "evm ledger: catching up after a failed write");
                }
                let current = self.state(op.token()).await?;
                lifecycle::apply(current.as_ref(), &op)?;
                Err(e.into())
            }
        }
    }

    async fn send(&self, op: &TokenOp) -> Result<(), EvmError> {
        let contract = PortcullisToken::new(self.inner.settings.contract, &self.inner.sender);
        let sent = match op {
            TokenOp::Mint {
                token,
                owner,
                attributes,
            } => {
                let to = self.address_of("owner", owner).map_err(refused)?;
                let attributes =
                    serde_json::to_string(attributes).map_err(|e| EvmError::Send(e.to_string()))?;
                contract.mint(to, token.clone(), attributes).send().await
            }
            TokenOp::Transfer { token, from, to } => {
                let from = self.address_of("from", from).map_err(refused)?;
                let to = self.address_of("to", to).map_err(refused)?;
                contract
                    .moveToken(from, to, contract::token_uint(token))
                    .send()
                    .await
            }
            TokenOp::Burn { token } => contract.burn(contract::token_uint(token)).send().await,
        };
        let pending = sent.map_err(|e| EvmError::Send(e.to_string()))?;
        let receipt = bounded(RECEIPT_TIMEOUT, pending.get_receipt())
            .await?
            .map_err(|e| EvmError::Send(e.to_string()))?;
        if !receipt.status() {
            return Err(EvmError::Reverted(format!(
                "transaction {}",
                receipt.transaction_hash
            )));
        }
        for log in receipt.inner.logs() {
            if let Some((at, event)) = follow::decode(self.inner.settings.contract, log) {
                self.inner
                    .index
                    .apply(at, &event)
                    .await
                    .map_err(|e| EvmError::Read(e.to_string()))?;
            }
        }
        Ok(())
    }
}

fn refused(e: LedgerError) -> EvmError {
    EvmError::Send(e.to_string())
}

#[async_trait]
impl TokenBackend for EvmTokenLedger {
    async fn mint(
        &self,
        _at: i64,
        token: &str,
        owner: &str,
        attributes: Map<String, Value>,
    ) -> Result<(), LedgerError> {
        self.write(TokenOp::Mint {
            token: token.to_owned(),
            owner: owner.to_owned(),
            attributes,
        })
        .await
    }

    async fn transfer(
        &self,
        _at: i64,
        token: &str,
        from: &str,
        to: &str,
    ) -> Result<(), LedgerError> {
        self.write(TokenOp::Transfer {
            token: token.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
        })
        .await
    }

    async fn burn(&self, _at: i64, token: &str) -> Result<(), LedgerError> {
        self.write(TokenOp::Burn {
            token: token.to_owned(),
        })
        .await
    }

    async fn state(&self, token: &str) -> Result<Option<TokenState>, LedgerError> {
        let Some(found) = self.inner.index.get(token).await? else {
            return Ok(None);
        };
        let attributes = serde_json::from_str(&found.attributes).unwrap_or_default();
        Ok(Some(TokenState {
            owner: self.name_of(found.owner),
            burned: found.burned,
            attributes,
        }))
    }
}
