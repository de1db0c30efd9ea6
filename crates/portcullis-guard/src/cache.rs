//! Tokens already verified, keyed by the SHA-256 of their text, kept until they expire; and
//! the sessions revoked since, whose tokens are refused whether cached or new.
//!
//! A hit skips the header parse, the key look-up and the signature check; it still re-checks
//! the expiry and the revocation list, so caching never extends what a token may do. The
//! cache is bounded: when full, expired entries go first, then arbitrary ones.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use portcullis_core::token::AccessClaims;
use sha2::{Digest, Sha256};

/// The cache key: SHA-256 of the token text, so token text is never held.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Verified claims by token hash.
pub(crate) struct VerifiedCache {
    capacity: usize,
    entries: RwLock<HashMap<TokenHash, Arc<AccessClaims>>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Arc<AccessClaims>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .cloned()
    }

    /// Inserts verified claims; `now` decides which entries are expired when making room.
    pub(crate) fn insert(&self, hash: TokenHash, claims: Arc<AccessClaims>, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, c| c.exp > now);
        }
        while entries.len() >= self.capacity {
            let Some(victim) = entries.keys().next().copied() else {
                break;
            };
            entries.remove(&victim);
        }
        entries.insert(hash, claims);
    }

    pub(crate) fn remove(&self, hash: &TokenHash) {
        self.write().remove(hash);
    }

    /// Drops every entry of session `sid`.
    pub(crate) fn remove_session(&self, sid: &str) {
        self.write().retain(|_, c| c.sid != sid);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<TokenHash, Arc<AccessClaims>>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Revoked session ids, each with when it was revoked, forgotten after `retention` seconds.
pub(crate) struct Revocations {
    retention_secs: i64,
    revoked: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    pub(crate) fn new(retention_secs: i64) -> Self {
        Self {
            retention_secs,
            revoked: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn revoke(&self, sid: &str, now: i64) {
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let retention = self.retention_secs;
        revoked.retain(|_, at| at.saturating_add(retention) > now);
        revoked.insert(sid.to_owned(), now);
    }

    pub(crate) fn is_revoked(&self, sid: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(sid)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn claims(sid: &str, exp: i64) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            iss: "i".to_owned(),
            sub: "s".to_owned(),
            aud: "a".to_owned(),
            exp,
            iat: 0,
            nbf: 0,
            jti: "j".to_owned(),
            sid: sid.to_owned(),
            acr: "aal1".to_owned(),
            amr: vec![],
            roles: vec![],
            auth_time: 0,
            scope: None,
        })
    }

    #[test]
    fn cache_is_bounded_and_evicts_expired_first() {
        let cache = VerifiedCache::new(2);
        cache.insert(token_hash("a"), claims("s", 10), 0);
        cache.insert(token_hash("b"), claims("s", 100), 0);
        cache.insert(token_hash("c"), claims("s", 100), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&token_hash("a")).is_none());
        assert!(cache.get(&token_hash("b")).is_some());
        cache.insert(token_hash("d"), claims("s", 100), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&token_hash("d")).is_some());
    }

    #[test]
    fn removing_a_session_drops_its_entries() {
        let cache = VerifiedCache::new(10);
        cache.insert(token_hash("a"), claims("s1", 10), 0);
        cache.insert(token_hash("b"), claims("s2", 10), 0);
        cache.remove_session("s1");
        assert!(cache.get(&token_hash("a")).is_none());
        assert!(cache.get(&token_hash("b")).is_some());
    }

    #[test]
    fn revocations_are_forgotten_after_retention() {
        let revs = Revocations::new(100);
        revs.revoke("s1", 0);
        assert!(revs.is_revoked("s1"));
        revs.revoke("s2", 200);
        assert!(!revs.is_revoked("s1"));
        assert!(revs.is_revoked("s2"));
    }
}
