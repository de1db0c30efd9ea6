//! [`PairRepo`] and [`WordCheckRepo`]: DualConfirm pairs and the checks of their words.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;

use crate::error::StoreError;
use crate::model::{PairRecord, PairStanding, PairStatus};

/// DualConfirm pairs.
#[async_trait]
pub trait PairRepo: Send + Sync {
    /// Inserts a pair.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or the (advisor, client) couple exists.
    async fn create(&self, pair: &PairRecord) -> Result<(), StoreError>;
    /// Reads one pair.
    async fn get(&self, id: &str) -> Result<Option<PairRecord>, StoreError>;
    /// Pairs of an advisor, oldest first.
    async fn of_advisor(&self, advisor: AccountId) -> Result<Vec<PairRecord>, StoreError>;
    /// Pairs of a client, oldest first.
    async fn of_client(&self, client: AccountId) -> Result<Vec<PairRecord>, StoreError>;
    /// Every pair, oldest first.
    async fn list(&self) -> Result<Vec<PairRecord>, StoreError>;
    /// Sets the status; returns whether the pair exists.
    async fn set_status(&self, id: &str, status: PairStatus, now: i64) -> Result<bool, StoreError>;
    /// Sets the word-list language (`en`, `fr`); returns whether the pair exists.
    async fn set_language(&self, id: &str, language: &str, now: i64) -> Result<bool, StoreError>;
    /// Removes a pair; returns whether it existed.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
    /// Which of `ids` are pairs, in one round trip for a few hundred (a node checks that the
    /// pairs of its open consoles were not removed by another process).
    async fn existing(&self, ids: &[&str]) -> Result<Vec<String>, StoreError>;
    /// Sets (or, with `None`, clears) the sealed names an administrator gave the sides;
    /// returns whether the pair exists.
    async fn set_names(
        &self,
        id: &str,
        advisor: Option<&[u8]>,
        client: Option<&[u8]>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Where the accounts of each of `ids` that is a pair stand (status and roles), in one
    /// round trip for a few hundred: a node checks that its consoles' parties still hold
    /// their sides.
    async fn standing(&self, ids: &[&str]) -> Result<Vec<PairStanding>, StoreError>;
}

/// Checks of heard DualConfirm words, counted per pair, side and word window (the bound on
/// guessing a word), shared by every node and kept across reconnections.
#[async_trait]
pub trait WordCheckRepo: Send + Sync {
    /// Counts one check by `side` of `pair` in `window`, atomically: the checks of the window,
    /// this one included, or `None` when `max` were counted already (this one is not). The
    /// count may be removed after `expires_at` (unix seconds).
    async fn count(
        &self,
        pair: &str,
        side: &str,
        window: i64,
        max: i64,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Removes counts that expired at or before `now`; returns how many.
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError>;
}
