//! [`ApiKeyRepo`]: API keys of front-end applications, found by the hash of the key.

use async_trait::async_trait;
use portcullis_core::ids::ApiKeyId;
use portcullis_core::secret::TokenHash;

use crate::error::StoreError;
use crate::model::ApiKeyRecord;

/// API keys of front-end applications.
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Inserts a key.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or the hash is taken.
    async fn create(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// Reads one key, revoked or not.
    async fn get(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// The key stored under `hash`, revoked or not. Read from the database on every call, so
    /// a revocation by any node is seen by the next request on every other.
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Every key, revoked ones included, oldest first.
    async fn list(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a live key; returns false when it is unknown or already revoked (the first
    /// revocation time is kept).
    async fn revoke(&self, id: ApiKeyId, now: i64) -> Result<bool, StoreError>;
    /// Records a use at `now` unless one at or after `since` is recorded already (so a busy
    /// key costs one write per interval, not one per request).
    async fn record_use(&self, id: ApiKeyId, now: i64, since: i64) -> Result<(), StoreError>;
}
