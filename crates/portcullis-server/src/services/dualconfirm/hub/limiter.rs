//! The bound on checks of a heard word: at most `max_checks_per_window` per side of a pair
//! and word window, so a caller cannot try words until one matches.
//!
//! Each node counts the checks it served ([`Limiter`]); with Redis, the nodes also share one
//! count per side and window ([`shared_count`]), which decides when it is there, so a party
//! whose requests land on several nodes still has the allowance once. If Redis fails, the
//! node counts alone. A pair's count is dropped when the hub stops tracking the pair.

use portcullis_core::dualconfirm::{Role, Schedule};
use std::collections::HashMap;

use super::presence::{PairId, idx};
use crate::cluster::redis_link::RedisLink;

/// The checks of one side in one window.
#[derive(Debug, Default, Clone, Copy)]
struct WindowCount {
    window: u64,
    used: u32,
}

/// The allowance of a window is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Seconds until the next window (at least 1).
    pub retry_after: u64,
}

/// This node's counts of checks, per pair and side.
#[derive(Debug)]
pub struct Limiter {
    schedule: Schedule,
    max: u32,
    counts: HashMap<PairId, [WindowCount; 2]>,
}

impl Limiter {
    /// At most `max` checks per side and window of `schedule`.
    pub fn new(schedule: Schedule, max: u32) -> Self {
        Self {
            schedule,
            max,
            counts: HashMap::new(),
        }
    }

    /// Counts a check by side `role` of `pair` at `now`; the checks it has left in the
    /// window. `counted` is the side's checks of this window counted by every node (this
    /// one included), when they share a count; `None` counts on this node alone.
    ///
    /// # Errors
    /// [`Exhausted`] when this check is one too many; it is not counted.
    pub fn admit(
        &mut self,
        pair: &str,
        role: Role,
        now: i64,
        counted: Option<u32>,
    ) -> Result<u32, Exhausted> {
        let window = self.schedule.window_at(now);
        if !self.counts.contains_key(pair) {
            self.counts.insert(PairId::from(pair), Default::default());
        }
        let Some(count) = self.counts.get_mut(pair).map(|c| &mut c[idx(role)]) else {
            return Ok(self.max);
        };
        if count.window != window {
            *count = WindowCount { window, used: 0 };
        }
        let used = counted.unwrap_or_else(|| count.used.saturating_add(1));
        if used > self.max {
            let wait = self.schedule.next_rotation(now) - now;
            return Err(Exhausted {
                retry_after: u64::try_from(wait.max(1)).unwrap_or(1),
            });
        }
        count.used = used;
        Ok(self.max - used)
    }

    /// Drops `pair`'s counts (the hub no longer tracks it).
    pub fn forget(&mut self, pair: &str) {
        self.counts.remove(pair);
    }
}

/// Counts a check by side `role` of `pair` in `window` in Redis, shared by every node; the
/// side's checks in the window so far, this one included. `None` when Redis failed (the
/// caller counts on this node alone).
pub async fn shared_count(
    redis: &RedisLink,
    pair: &str,
    role: Role,
    window: u64,
    window_secs: i64,
) -> Option<u32> {
    let name = format!("dc:checks:{pair}:{}:{window}", role.as_str());
    let ttl = u64::try_from(window_secs.max(1)).unwrap_or(60) * 2;
    match redis.count(&name, ttl).await {
        Ok(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        Err(e) => {
            tracing::warn!(error = %e, "DualConfirm checks counted on this node alone");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000; // a window boundary

    fn limiter() -> Limiter {
        let schedule = Schedule {
            window_secs: 60,
            grace_secs: 10,
        };
        Limiter::new(schedule, 5)
    }

    #[test]
    fn each_side_has_its_allowance_per_window() {
        let mut l = limiter();
        // (side, second into the window, shared count, expected)
        type Step = (Role, i64, Option<u32>, Result<u32, Exhausted>);
        let steps: [Step; 10] = [
            (Role::Client, 0, None, Ok(4)),
            (Role::Client, 1, None, Ok(3)),
            (Role::Client, 2, None, Ok(2)),
            (Role::Client, 3, None, Ok(1)),
            (Role::Client, 4, None, Ok(0)),
            (Role::Client, 5, None, Err(Exhausted { retry_after: 55 })),
            // The other side counts apart.
            (Role::Advisor, 6, None, Ok(4)),
            // Another window starts again.
            (Role::Client, 60, None, Ok(4)),
            // A shared count decides over this node's own.
            (Role::Client, 61, Some(5), Ok(0)),
            (
                Role::Client,
                62,
                Some(6),
                Err(Exhausted { retry_after: 58 }),
            ),
        ];
        for (i, (role, at, counted, expected)) in steps.into_iter().enumerate() {
            assert_eq!(l.admit("p", role, T0 + at, counted), expected, "step {i}");
        }
        // Counting alone, this node goes on from what it saw.
        assert_eq!(
            l.admit("p", Role::Client, T0 + 63, None),
            Err(Exhausted { retry_after: 57 })
        );
    }

    #[test]
    fn a_forgotten_pair_starts_again_and_others_keep_their_count() {
        let mut l = limiter();
        for _ in 0..5 {
            l.admit("p", Role::Client, T0, None).ok();
            l.admit("q", Role::Client, T0, None).ok();
        }
        l.forget("p");
        assert_eq!(l.admit("p", Role::Client, T0, None), Ok(4));
        assert!(l.admit("q", Role::Client, T0, None).is_err());
        // The last second of a window still waits one.
        assert_eq!(
            l.admit("q", Role::Client, T0 + 59, None),
            Err(Exhausted { retry_after: 1 })
        );
    }
}
