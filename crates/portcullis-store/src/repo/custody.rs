//! [`CustodyRepo`] and its nonce manager, [`SendLease`].

use async_trait::async_trait;
use portcullis_core::ids::AccountId;

use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{CustodialWalletRecord, SendRecord, SendSettlement};

/// Custodial wallets and their sends.
#[async_trait]
pub trait CustodyRepo: Send + Sync {
    /// Inserts a wallet.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or the address exists.
    async fn create_wallet(&self, wallet: &CustodialWalletRecord) -> Result<(), StoreError>;
    /// The account's wallets, oldest first.
    async fn wallets_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<CustodialWalletRecord>, StoreError>;
    /// One of the account's wallets (`None` for another account's).
    async fn wallet(
        &self,
        account: AccountId,
        id: &str,
    ) -> Result<Option<CustodialWalletRecord>, StoreError>;
    /// Every wallet's wrapped data key (for master-key rotation).
    async fn wallet_keys(&self) -> Result<Vec<(String, WrappedKey)>, StoreError>;
    /// Replaces a wallet's wrapped data key (after re-wrapping under a new master).
    async fn replace_wallet_key(&self, id: &str, key: &WrappedKey) -> Result<(), StoreError>;

    /// Takes the account's send lock and reads where `wallet`'s nonces stand: the nonce
    /// manager. While the lease lives no other send of the account proceeds, on this node
    /// or (on PostgreSQL, through an advisory lock held in the lease's transaction) on any
    /// other; dropping it without [`SendLease::commit`] releases the lock and takes no
    /// nonce.
    ///
    /// # Errors
    /// Storage failure; a wallet that is not the account's (the caller reads it first)
    /// gives [`StoreError::Database`].
    async fn begin_send(
        &self,
        account: AccountId,
        wallet: &str,
    ) -> Result<Box<dyn SendLease>, StoreError>;
    /// Records a send refused before it took a nonce (a rule, or the node, said no).
    async fn record_refused(&self, send: &SendRecord) -> Result<(), StoreError>;
    /// A wallet's sends, newest first.
    async fn sends(&self, wallet: &str, limit: i64) -> Result<Vec<SendRecord>, StoreError>;
    /// One send of a wallet.
    async fn send(&self, wallet: &str, id: &str) -> Result<Option<SendRecord>, StoreError>;
    /// Sends still pending or unconfirmed, oldest first: the follower's work.
    async fn open_sends(&self, limit: i64) -> Result<Vec<SendRecord>, StoreError>;
    /// Records what the follower learnt of an open send; returns whether it was still open.
    async fn settle(
        &self,
        id: &str,
        settlement: &SendSettlement,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Marks an unconfirmed send pending once the node knows it; returns whether it changed.
    async fn confirm_broadcast(&self, id: &str, now: i64) -> Result<bool, StoreError>;
}

/// The account's send lock, held while a send is signed and broadcast.
#[async_trait]
pub trait SendLease: Send {
    /// The nonce the store holds as the wallet's next.
    fn stored_nonce(&self) -> i64;
    /// The account's sends (any wallet) since `since` that are not refused, as
    /// (wallet id, wei) pairs: what the spending limits count, read under the lock.
    async fn spent_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError>;
    /// Records the send (with the nonce it took) and moves the wallet's next nonce past it,
    /// then releases the lock.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the nonce was taken meanwhile (which the lock makes
    /// impossible; the unique (wallet, nonce) index is the last guard).
    async fn commit(self: Box<Self>, send: &SendRecord) -> Result<(), StoreError>;
}
