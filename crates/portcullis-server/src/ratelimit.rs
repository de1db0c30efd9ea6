//! Request rate limits: GCRA (governor) keyed by client IP, and by account for logins.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

use crate::config::RateLimitConfig;
use crate::error::ApiError;

/// The limiters of one node (in memory; DESIGN §8 moves them to Redis for many nodes).
pub struct RateLimits {
    any_ip: DefaultKeyedRateLimiter<IpAddr>,
    auth_ip: DefaultKeyedRateLimiter<IpAddr>,
    account: DefaultKeyedRateLimiter<Vec<u8>>,
    clock: DefaultClock,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    /// Limiters from configuration.
    pub fn new(cfg: &RateLimitConfig) -> Self {
        Self {
            any_ip: RateLimiter::keyed(quota(cfg.per_ip_per_minute)),
            auth_ip: RateLimiter::keyed(quota(cfg.auth_per_ip_per_minute)),
            account: RateLimiter::keyed(quota(cfg.per_account_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    fn verdict<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        scope: &'static str,
    ) -> Result<(), ApiError> {
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            metrics::counter!("portcullis_rate_limited_total", "scope" => scope).increment(1);
            ApiError::RateLimited {
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// Any request from `ip`.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the wait.
    pub fn check_any(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.verdict(&self.any_ip, &ip, "ip")
    }

    /// A login, registration or reset request from `ip`.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the wait.
    pub fn check_auth(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.verdict(&self.auth_ip, &ip, "auth_ip")
    }

    /// A login attempt on the account behind `key` (the e-mail's blind index).
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the wait.
    pub fn check_account(&self, key: &[u8]) -> Result<(), ApiError> {
        self.verdict(&self.account, &key.to_vec(), "account")
    }

    /// Forgets keys that are back at full capacity, bounding memory.
    pub fn shrink(&self) {
        self.any_ip.retain_recent();
        self.auth_ip.retain_recent();
        self.account.retain_recent();
    }
}
