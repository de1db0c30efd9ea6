//! Tokens already verified, kept until they expire; and the sessions revoked since, whose
//! tokens are refused whether cached or new.
//!
//! A hit skips the header parse, the key look-up and the signature check; it still re-checks
//! the expiry and the revocation list, so caching never extends what a token may do.
//!
//! An entry holds the whole token text and a hit must match it byte for byte, so only the
//! very token that was verified is ever answered from the cache (a forged payload carrying a
//! cached signature is a miss). To find the entry, only the signature segment is hashed, with
//! std's keyed SipHash (a random key per cache): that segment is what sets tokens apart, and
//! hashing 86 bytes instead of the whole token (or a SHA-256 of it) is what makes a hit cost
//! a fraction of a microsecond. Nobody without the key can choose which slot a token lands
//! in, and only verified tokens are ever inserted.
//!
//! The cache is bounded and split into shards, each behind its own lock, so cores verifying
//! different tokens do not contend. A full shard first drops its expired entries, then
//! arbitrary ones, down to seven eighths of its share, so the sweep runs once per many
//! inserts rather than on each one.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use portcullis_core::token::AccessClaims;

/// Most shards; each holds at least [`MIN_SHARD_CAPACITY`] entries.
const MAX_SHARDS: usize = 16;
const MIN_SHARD_CAPACITY: usize = 1024;

/// Verified claims by token.
pub(crate) struct VerifiedCache {
    hasher: RandomState,
    /// Entries per shard; shards × this is at most the configured capacity.
    shard_capacity: usize,
    shards: Box<[RwLock<Shard>]>,
}

/// Entries by the keyed hash of their token's signature segment.
type Shard = HashMap<u64, Entry, BuildHasherDefault<PassThrough>>;

struct Entry {
    token: Box<str>,
    exp: i64,
    claims: Arc<AccessClaims>,
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens (none when 0).
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = (capacity / MIN_SHARD_CAPACITY).clamp(1, MAX_SHARDS);
        Self {
            hasher: RandomState::new(),
            shard_capacity: capacity / shards,
            shards: (0..shards).map(|_| RwLock::default()).collect(),
        }
    }

    /// The claims of `token` if this exact token was verified and is still held.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<AccessClaims>> {
        let hash = self.hash(token);
        let shard = self.read(hash);
        let entry = shard.get(&hash)?;
        same_text(&entry.token, token).then(|| Arc::clone(&entry.claims))
    }

    /// Inserts the verified claims of `token`; `now` decides which entries are expired when
    /// making room.
    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessClaims>, now: i64) {
        if self.shard_capacity == 0 {
            return;
        }
        let hash = self.hash(token);
        let mut shard = self.write(hash);
        if shard.len() >= self.shard_capacity && !shard.contains_key(&hash) {
            make_room(&mut shard, self.shard_capacity, now);
        }
        let entry = Entry {
            token: token.into(),
            exp: claims.exp,
            claims,
        };
        shard.insert(hash, entry);
    }

    /// Forgets `token` (an exact match only).
    pub(crate) fn remove(&self, token: &str) {
        let hash = self.hash(token);
        let mut shard = self.write(hash);
        if shard.get(&hash).is_some_and(|e| same_text(&e.token, token)) {
            shard.remove(&hash);
        }
    }

    /// Drops every entry of session `sid`.
    pub(crate) fn remove_session(&self, sid: &str) {
        for shard in &self.shards {
            lock_write(shard).retain(|_, e| e.claims.sid != sid);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock_read(s).len()).sum()
    }

    /// Keyed hash of the signature segment (the text after the last `.`).
    fn hash(&self, token: &str) -> u64 {
        let signature = token.rsplit_once('.').map_or(token, |(_, s)| s);
        self.hasher.hash_one(signature.as_bytes())
    }

    /// The shard of `hash`, chosen by its top bits (the map's buckets use the low ones).
    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        let index = (hash >> 48) as usize % self.shards.len();
        &self.shards[index]
    }

    fn read(&self, hash: u64) -> RwLockReadGuard<'_, Shard> {
        lock_read(self.shard(hash))
    }

    fn write(&self, hash: u64) -> RwLockWriteGuard<'_, Shard> {
        lock_write(self.shard(hash))
    }
}

/// Drops expired entries, then arbitrary ones, until the shard is at seven eighths of
/// `capacity` (at least one below it).
fn make_room(shard: &mut Shard, capacity: usize, now: i64) {
    shard.retain(|_, e| e.exp > now);
    let keep = capacity - (capacity / 8).max(1);
    let mut excess = shard.len().saturating_sub(keep);
    if excess > 0 {
        shard.retain(|_, _| {
            let drop = excess > 0;
            excess -= usize::from(drop);
            !drop
        });
    }
}

/// Byte-for-byte equality that reads every byte whatever the first difference, so the time
/// taken says nothing about how much of a cached token a guess matched.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

fn lock_read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn lock_write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// The hasher of the shard maps, whose keys are already keyed SipHash values: it passes the
/// `u64` through instead of hashing it again.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys reach this hasher; fold anything else in so it still works.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Revoked session ids, each with when it was revoked, forgotten after `retention` seconds.
pub(crate) struct Revocations {
    retention_secs: i64,
    revoked: RwLock<HashMap<String, i64>>,
    /// How many are held, so that a check with none held takes no lock.
    held: AtomicUsize,
}

impl Revocations {
    pub(crate) fn new(retention_secs: i64) -> Self {
        Self {
            retention_secs,
            revoked: RwLock::new(HashMap::new()),
            held: AtomicUsize::new(0),
        }
    }

    pub(crate) fn revoke(&self, sid: &str, now: i64) {
        let mut revoked = lock_write(&self.revoked);
        let retention = self.retention_secs;
        revoked.retain(|_, at| at.saturating_add(retention) > now);
        revoked.insert(sid.to_owned(), now);
        self.held.store(revoked.len(), Ordering::Release);
    }

    pub(crate) fn is_revoked(&self, sid: &str) -> bool {
        self.held.load(Ordering::Acquire) > 0 && lock_read(&self.revoked).contains_key(sid)
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
            cnf: None,
        })
    }

    #[test]
    fn cache_is_bounded_and_evicts_expired_first() {
        let cache = VerifiedCache::new(2);
        cache.insert("h.p.a", claims("s", 10), 0);
        cache.insert("h.p.b", claims("s", 100), 0);
        cache.insert("h.p.c", claims("s", 100), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("h.p.a").is_none());
        assert!(cache.get("h.p.b").is_some());
        cache.insert("h.p.d", claims("s", 100), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("h.p.d").is_some());
    }

    #[test]
    fn a_large_cache_stays_within_capacity_under_a_stream_of_tokens() {
        let capacity = 10_000;
        let cache = VerifiedCache::new(capacity);
        assert!(cache.shards.len() > 1);
        for i in 0..50_000 {
            cache.insert(&format!("h.p.sig{i}"), claims("s", 100), 0);
            assert!(cache.len() <= capacity);
        }
        assert!(cache.len() >= capacity * 7 / 8 - MAX_SHARDS);
        assert!(cache.get("h.p.sig49999").is_some());
    }

    #[test]
    fn a_full_shard_drops_only_expired_entries_when_that_makes_room() {
        let cache = VerifiedCache::new(8);
        for i in 0..8 {
            let exp = if i < 4 { 10 } else { 100 };
            cache.insert(&format!("h.p.{i}"), claims("s", exp), 0);
        }
        cache.insert("h.p.new", claims("s", 100), 50);
        assert_eq!(cache.len(), 5);
        assert!((4..8).all(|i| cache.get(&format!("h.p.{i}")).is_some()));
    }

    #[test]
    fn only_the_exact_token_is_a_hit() {
        let cache = VerifiedCache::new(10);
        cache.insert("header.user.sig", claims("s", 100), 0);
        assert!(cache.get("header.user.sig").is_some());
        // A forged payload under a cached signature hashes alike but is not the same token.
        assert!(cache.get("header.admin.sig").is_none());
        assert!(cache.get("header.userx.sig").is_none());
        assert!(cache.get("sig").is_none());
        cache.remove("header.admin.sig");
        assert!(cache.get("header.user.sig").is_some());
        cache.remove("header.user.sig");
        assert!(cache.get("header.user.sig").is_none());
    }

    #[test]
    fn a_zero_capacity_cache_holds_nothing() {
        let cache = VerifiedCache::new(0);
        cache.insert("h.p.s", claims("s", 100), 0);
        assert_eq!(cache.len(), 0);
        assert!(cache.get("h.p.s").is_none());
    }

    #[test]
    fn removing_a_session_drops_its_entries() {
        let cache = VerifiedCache::new(10);
        cache.insert("h.p.a", claims("s1", 10), 0);
        cache.insert("h.p.b", claims("s2", 10), 0);
        cache.remove_session("s1");
        assert!(cache.get("h.p.a").is_none());
        assert!(cache.get("h.p.b").is_some());
    }

    #[test]
    fn text_comparison_is_exact() {
        assert!(same_text("abc", "abc"));
        assert!(!same_text("abc", "abd"));
        assert!(!same_text("abc", "abcd"));
        assert!(same_text("", ""));
    }

    #[test]
    fn revocations_are_forgotten_after_retention() {
        let revs = Revocations::new(100);
        assert!(!revs.is_revoked("s1"));
        revs.revoke("s1", 0);
        assert!(revs.is_revoked("s1"));
        revs.revoke("s2", 200);
        assert!(!revs.is_revoked("s1"));
        assert!(revs.is_revoked("s2"));
    }
}
