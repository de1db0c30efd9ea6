//! The sessions this node knows were revoked recently, so caches of verified tokens can
//! refuse them without asking the database on every request.
//!
//! Entries are kept for `horizon_secs` after their revocation: longer than anything that
//! consults this set may cache a verified token, after which the cache has dropped the
//! token on its own and the entry is no longer needed.

use portcullis_core::ids::SessionId;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use tokio::sync::watch;

/// Recently revoked sessions with their revocation times (unix seconds).
pub struct RevokedSessions {
    horizon_secs: i64,
    entries: RwLock<HashMap<SessionId, i64>>,
    /// Bumped whenever new revocations are learnt, so long-lived connections (the DualConfirm
    /// feed) wait for a change instead of polling the set.
    learnt: watch::Sender<u64>,
}

impl RevokedSessions {
    /// An empty set that forgets entries `horizon_secs` after their revocation.
    pub fn new(horizon_secs: i64) -> Self {
        Self {
            horizon_secs,
            entries: RwLock::new(HashMap::new()),
            learnt: watch::Sender::new(0),
        }
    }

    /// A receiver that sees a change each time new revocations are learnt; check
    /// [`Self::contains`] after subscribing and on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.learnt.subscribe()
    }

    /// Whether `session` is known to be revoked.
    pub fn contains(&self, session: &SessionId) -> bool {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(session)
    }

    /// Records revocations read from the store; returns how many were new.
    pub fn learn(&self, revoked: &[(SessionId, i64)]) -> usize {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let new = revoked
            .iter()
            .filter(|(sid, at)| entries.insert(*sid, *at).is_none())
            .count();
        drop(entries);
        if new > 0 {
            self.learnt.send_modify(|generation| *generation += 1);
        }
        new
    }

    /// Forgets entries older than the horizon.
    pub fn prune(&self, now: i64) {
        let oldest = now - self.horizon_secs;
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, at| *at >= oldest);
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u8) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_bytes([n; 16]))
    }

    #[test]
    fn learns_counts_new_entries_and_answers_membership() {
        let set = RevokedSessions::new(100);
        assert!(!set.contains(&sid(1)));
        assert_eq!(set.learn(&[(sid(1), 10), (sid(2), 11)]), 2);
        assert_eq!(
            set.learn(&[(sid(1), 10), (sid(3), 12)]),
            1,
            "repeats are not new"
        );
        assert!(set.contains(&sid(1)) && set.contains(&sid(3)));
        assert!(!set.contains(&sid(4)));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn subscribers_see_a_change_only_when_something_new_is_learnt() {
        let set = RevokedSessions::new(100);
        let mut rx = set.subscribe();
        assert!(matches!(rx.has_changed(), Ok(false)));
        set.learn(&[]);
        assert!(matches!(rx.has_changed(), Ok(false)), "nothing learnt");
        set.learn(&[(sid(1), 10)]);
        assert!(matches!(rx.has_changed(), Ok(true)));
        rx.mark_unchanged();
        set.learn(&[(sid(1), 10)]);
        assert!(matches!(rx.has_changed(), Ok(false)), "a repeat is not new");
        set.learn(&[(sid(2), 11)]);
        assert!(matches!(rx.has_changed(), Ok(true)));
    }

    #[test]
    fn prune_forgets_only_entries_past_the_horizon() {
        let set = RevokedSessions::new(100);
        set.learn(&[(sid(1), 1_000), (sid(2), 1_050)]);
        set.prune(1_100);
        assert!(set.contains(&sid(1)), "exactly at the horizon is kept");
        set.prune(1_101);
        assert!(!set.contains(&sid(1)));
        assert!(set.contains(&sid(2)));
        set.prune(2_000);
        assert!(set.is_empty());
    }
}
