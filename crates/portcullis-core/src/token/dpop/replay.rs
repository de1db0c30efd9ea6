//! [`ReplayCache`]: the `jti`s of the proofs already accepted (RFC 9449 §11.1), so a proof
//! seen on the wire cannot be sent again within its lifetime.
//!
//! A proof is good from its `iat` until `iat + max_age`, so a pair (key, `jti`) is
//! remembered exactly that long and forgotten after: a later replay is refused by its age.
//! Memory is bounded: entries are a fixed 32-byte hash of the pair, expired ones go first,
//! and when the cache is full of live entries a new proof is refused
//! ([`DpopError::ReplayCacheFull`]) rather than a live one forgotten, since forgetting would
//! reopen the replay it guards against. A flood of fresh proofs then costs the flooder's
//! requests (and those of the others until entries expire), never the check itself.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest as _, Sha256};

use super::DpopError;

/// A fixed-size name of one (key thumbprint, `jti`) pair.
type Entry = [u8; 32];

/// The proofs accepted recently, each until its `iat + max_age`. A plain struct: callers that
/// share one wrap it in a mutex.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    max_age_secs: i64,
    /// Each entry's expiry.
    seen: HashMap<Entry, i64>,
    /// The same entries ordered by expiry, so the expired ones are dropped from the front.
    by_expiry: BTreeSet<(i64, Entry)>,
}

impl ReplayCache {
    /// A cache for at most `capacity` live proofs whose lifetime is `max_age_secs` (the
    /// `max_age_secs` the proofs are verified with).
    pub fn new(capacity: usize, max_age_secs: i64) -> Self {
        Self {
            capacity,
            max_age_secs: max_age_secs.max(0),
            seen: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Live entries held (expired ones are counted until the next call drops them).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Records the proof `jti` of key `jkt`, issued at `iat`, unless it was recorded before.
    /// Call it after the proof verified, so failed proofs take no room.
    ///
    /// # Errors
    /// [`DpopError::Replayed`] when the pair is already held;
    /// [`DpopError::ReplayCacheFull`] when `capacity` live proofs are held.
    pub fn check_and_remember(
        &mut self,
        jkt: &str,
        jti: &str,
        iat: i64,
        now: i64,
    ) -> Result<(), DpopError> {
        self.evict_expired(now);
        let entry = entry(jkt, jti);
        if self.seen.contains_key(&entry) {
            return Err(DpopError::Replayed);
        }
        let expires = iat.saturating_add(self.max_age_secs);
        if expires < now {
            // Already too old to verify; nothing to remember.
            return Ok(());
        }
        if self.seen.len() >= self.capacity {
            return Err(DpopError::ReplayCacheFull);
        }
        self.seen.insert(entry, expires);
        self.by_expiry.insert((expires, entry));
        Ok(())
    }

    /// Drops the entries whose proofs are too old to verify at `now`.
    fn evict_expired(&mut self, now: i64) {
        while let Some(&(expires, entry)) = self.by_expiry.first() {
            if expires >= now {
                break;
            }
            self.by_expiry.pop_first();
            self.seen.remove(&entry);
        }
    }
}

/// SHA-256 of the length-prefixed pair, so no two pairs share a name.
fn entry(jkt: &str, jti: &str) -> Entry {
    let mut hash = Sha256::new();
    hash.update((jkt.len() as u64).to_be_bytes());
    hash.update(jkt.as_bytes());
    hash.update(jti.as_bytes());
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_pair_is_refused_while_its_proof_lives_and_forgotten_after() {
        let mut cache = ReplayCache::new(10, 60);
        assert_eq!(cache.check_and_remember("k", "j1", NOW, NOW), Ok(()));
        assert_eq!(
            cache.check_and_remember("k", "j1", NOW, NOW + 60),
            Err(DpopError::Replayed)
        );
        // The same jti of another key is another proof; a length prefix keeps pairs apart.
        assert_eq!(cache.check_and_remember("k2", "j1", NOW, NOW), Ok(()));
        assert_eq!(cache.check_and_remember("kj", "1", NOW, NOW), Ok(()));
        // Past its lifetime the proof is refused by its age, so nothing is kept for it, and
        // every entry of that age is gone.
        assert_eq!(cache.check_and_remember("k", "j1", NOW, NOW + 61), Ok(()));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_refuses_new_proofs_until_entries_expire() {
        let mut cache = ReplayCache::new(2, 60);
        assert_eq!(cache.check_and_remember("k", "a", NOW, NOW), Ok(()));
        assert_eq!(cache.check_and_remember("k", "b", NOW + 5, NOW), Ok(()));
        assert_eq!(
            cache.check_and_remember("k", "c", NOW, NOW),
            Err(DpopError::ReplayCacheFull)
        );
        // A replay is still told as a replay when full.
        assert_eq!(
            cache.check_and_remember("k", "a", NOW, NOW),
            Err(DpopError::Replayed)
        );
        // "a" expires first and makes room; "b" is still remembered.
        assert_eq!(
            cache.check_and_remember("k", "c", NOW + 61, NOW + 61),
            Ok(())
        );
        assert_eq!(
            cache.check_and_remember("k", "b", NOW + 5, NOW + 61),
            Err(DpopError::Replayed)
        );
        assert_eq!(cache.len(), 2);
        assert!(!cache.is_empty());
    }

    #[test]
    fn an_expired_proof_takes_no_room() {
        let mut cache = ReplayCache::new(1, 60);
        assert_eq!(cache.check_and_remember("k", "old", NOW - 61, NOW), Ok(()));
        assert!(cache.is_empty());
        let mut none = ReplayCache::new(0, 60);
        assert_eq!(
            none.check_and_remember("k", "a", NOW, NOW),
            Err(DpopError::ReplayCacheFull)
        );
    }
}
