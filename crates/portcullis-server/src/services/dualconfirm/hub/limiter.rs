//! The bound on checks of a heard word: at most `max_checks_per_window` per side of a pair
//! and word window, so a caller cannot try words until one matches.
//!
//! The count lives in the store ([`WordCheckRepo`]): one row per pair, side and window,
//! taken with an atomic increment-and-check before the word is checked. It is not part of any
//! node's connection state, so a console that reconnects, a language change (which ends the
//! pair's sessions) or checks sent to another node of a cluster all go on from the same
//! count. The housekeeping job removes counts once their window is over.

use portcullis_core::dualconfirm::{Role, Schedule};
use portcullis_store::StoreError;
use portcullis_store::repo::WordCheckRepo;

/// The allowance of a window is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Seconds until the next window (at least 1).
    pub retry_after: u64,
}

/// The bound: the windows of `schedule` and the checks allowed in each.
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    schedule: Schedule,
    max: u32,
}

impl Limiter {
    /// At most `max` checks per side and window of `schedule`.
    pub fn new(schedule: Schedule, max: u32) -> Self {
        Self { schedule, max }
    }

    /// Counts a check by side `role` of `pair` at `now` in `checks`; the checks the side has
    /// left in the window, or [`Exhausted`] when this one is one too many (it is not counted,
    /// and the word must not be checked).
    ///
    /// # Errors
    /// The store failed: nothing was counted, and the word must not be checked either.
    pub async fn admit(
        &self,
        checks: &dyn WordCheckRepo,
        pair: &str,
        role: Role,
        now: i64,
    ) -> Result<Result<u32, Exhausted>, StoreError> {
        let window = i64::try_from(self.schedule.window_at(now)).unwrap_or(i64::MAX);
        // Kept one window longer than it counts, for a node whose clock is a little behind.
        let expires_at = self.schedule.next_rotation(now) + self.schedule.window_secs.max(1);
        let counted = checks
            .count(pair, role.as_str(), window, i64::from(self.max), expires_at)
            .await?;
        Ok(self.verdict(counted, now))
    }

    /// What the store's count means at `now`: the checks left, or how long to wait.
    fn verdict(&self, counted: Option<i64>, now: i64) -> Result<u32, Exhausted> {
        let used = counted
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= self.max);
        match used {
            Some(used) => Ok(self.max - used),
            None => {
                let wait = self.schedule.next_rotation(now) - now;
                Err(Exhausted {
                    retry_after: u64::try_from(wait.max(1)).unwrap_or(1),
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failure is a test failure")]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::collections::HashMap;
    use std::sync::Mutex;

    const T0: i64 = 1_800_000_000; // a window boundary

    /// (pair, side, window) → (count, expires at).
    type Table = HashMap<(String, String, i64), (i64, i64)>;

    /// Counts in memory, as the store does, and remembers when each may go.
    #[derive(Default)]
    struct Counts(Mutex<Table>);

    #[async_trait]
    impl WordCheckRepo for Counts {
        async fn count(
            &self,
            pair: &str,
            side: &str,
            window: i64,
            max: i64,
            expires_at: i64,
        ) -> Result<Option<i64>, StoreError> {
            let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let key = (pair.to_owned(), side.to_owned(), window);
            let entry = counts.entry(key).or_insert((0, expires_at));
            if entry.0 >= max {
                return Ok(None);
            }
            entry.0 += 1;
            Ok(Some(entry.0))
        }

        async fn purge_expired(&self, _now: i64) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    fn limiter() -> Limiter {
        let schedule = Schedule {
            window_secs: 60,
            grace_secs: 10,
        };
        Limiter::new(schedule, 5)
    }

    #[tokio::test]
    async fn each_side_has_its_allowance_per_window() {
        let (l, counts) = (limiter(), Counts::default());
        // (side, second into the window, expected)
        type Step = (Role, i64, Result<u32, Exhausted>);
        let steps: [Step; 9] = [
            (Role::Client, 0, Ok(4)),
            (Role::Client, 1, Ok(3)),
            (Role::Client, 2, Ok(2)),
            (Role::Client, 3, Ok(1)),
            (Role::Client, 4, Ok(0)),
            (Role::Client, 5, Err(Exhausted { retry_after: 55 })),
            // The other side counts apart.
            (Role::Advisor, 6, Ok(4)),
            // The last second of a window still waits one.
            (Role::Client, 59, Err(Exhausted { retry_after: 1 })),
            // Another window starts again.
            (Role::Client, 60, Ok(4)),
        ];
        for (i, (role, at, expected)) in steps.into_iter().enumerate() {
            let verdict = l.admit(&counts, "p", role, T0 + at).await.unwrap();
            assert_eq!(verdict, expected, "step {i}");
        }
        // Keyed by pair, side and window number, kept until the end of the next window.
        let counts = counts.0.lock().unwrap();
        let window = T0 / 60;
        assert_eq!(
            counts.get(&("p".into(), "client".into(), window)),
            Some(&(5, T0 + 120))
        );
        assert_eq!(
            counts.get(&("p".into(), "advisor".into(), window)),
            Some(&(1, T0 + 120))
        );
    }

    #[test]
    fn a_count_over_the_bound_is_refused_whatever_the_store_said() {
        let l = limiter();
        assert_eq!(l.verdict(Some(5), T0), Ok(0));
        assert_eq!(
            l.verdict(Some(6), T0 + 10),
            Err(Exhausted { retry_after: 50 })
        );
        assert_eq!(l.verdict(None, T0), Err(Exhausted { retry_after: 60 }));
        assert_eq!(l.verdict(Some(-1), T0), Err(Exhausted { retry_after: 60 }));
    }
}
