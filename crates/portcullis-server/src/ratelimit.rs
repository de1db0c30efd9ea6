//! Request rate limits: GCRA keyed by client IP, by account for logins, and by API key at
//! the rate each key was given.
//!
//! On one node the counters live in memory (`governor`). With Redis configured they live in
//! Redis, so a client that spreads its attempts over every node is counted once; when Redis
//! fails or is slow, the node falls back to its own counters rather than letting everything
//! through or refusing everything.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use portcullis_core::ids::ApiKeyId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use crate::cluster::redis_link::RedisLink;
use crate::config::RateLimitConfig;
use crate::services::ServiceError;

/// The limiters of this node, and Redis when shared.
pub struct RateLimits {
    any_ip: DefaultKeyedRateLimiter<IpAddr>,
    auth_ip: DefaultKeyedRateLimiter<IpAddr>,
    account: DefaultKeyedRateLimiter<Vec<u8>>,
    /// One limiter per rate that keys use (a `governor` limiter has one quota); each key is
    /// counted apart inside its rate's limiter.
    api_keys: Mutex<HashMap<u32, Arc<DefaultKeyedRateLimiter<ApiKeyId>>>>,
    clock: DefaultClock,
    quotas: RateLimitConfig,
    shared: Option<Arc<RedisLink>>,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    /// Limiters from configuration; counted in Redis when `shared` is given.
    pub fn new(cfg: &RateLimitConfig, shared: Option<Arc<RedisLink>>) -> Self {
        Self {
            any_ip: RateLimiter::keyed(quota(cfg.per_ip_per_minute)),
            auth_ip: RateLimiter::keyed(quota(cfg.auth_per_ip_per_minute)),
            account: RateLimiter::keyed(quota(cfg.per_account_per_minute)),
            api_keys: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
            quotas: cfg.clone(),
            shared,
        }
    }

    /// Counts one request in Redis when configured and reachable, else on this node.
    async fn verdict<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        key_bytes: &[u8],
        per_minute: u32,
        scope: &'static str,
    ) -> Result<(), ServiceError> {
        let wait_ms = match &self.shared {
            Some(redis) => match redis.admit(scope, key_bytes, per_minute).await {
                Ok(wait) => wait,
                Err(e) => {
                    metrics::counter!("portcullis_redis_failures_total", "op" => "rate_limit")
                        .increment(1);
                    tracing::warn!(error = %e, "shared rate limit unavailable; counting on this node");
                    self.local(limiter, key)
                }
            },
            None => self.local(limiter, key),
        };
        match wait_ms {
            None => Ok(()),
            Some(ms) => {
                metrics::counter!("portcullis_rate_limited_total", "scope" => scope).increment(1);
                Err(ServiceError::RateLimited {
                    retry_after: ms.div_ceil(1000).max(1),
                })
            }
        }
    }

    /// This node's verdict: `None` admits, `Some(ms)` is the wait.
    fn local<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Option<u64> {
        limiter.check_key(key).err().map(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// Any request from `ip`.
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] with the wait.
    pub async fn check_any(&self, ip: IpAddr) -> Result<(), ServiceError> {
        let per_minute = self.quotas.per_ip_per_minute;
        let bytes = ip.to_string();
        self.verdict(&self.any_ip, &ip, bytes.as_bytes(), per_minute, "ip")
            .await
    }

    /// A login, registration or reset request from `ip`.
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] with the wait.
    pub async fn check_auth(&self, ip: IpAddr) -> Result<(), ServiceError> {
        let per_minute = self.quotas.auth_per_ip_per_minute;
        let bytes = ip.to_string();
        self.verdict(&self.auth_ip, &ip, bytes.as_bytes(), per_minute, "auth_ip")
            .await
    }

    /// A login attempt on the account behind `key` (the e-mail's blind index).
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] with the wait.
    pub async fn check_account(&self, key: &[u8]) -> Result<(), ServiceError> {
        let per_minute = self.quotas.per_account_per_minute;
        self.verdict(&self.account, &key.to_vec(), key, per_minute, "account")
            .await
    }

    /// A request with the API key `id`, allowed `per_minute` (with a burst of as many).
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] with the wait.
    pub async fn check_api_key(&self, id: ApiKeyId, per_minute: u32) -> Result<(), ServiceError> {
        let per_minute = per_minute.max(1);
        let limiter = self.api_key_limiter(per_minute);
        let bytes = id.as_uuid().into_bytes();
        self.verdict(&limiter, &id, &bytes, per_minute, "api_key")
            .await
    }

    /// This node's limiter of the keys allowed `per_minute`.
    fn api_key_limiter(&self, per_minute: u32) -> Arc<DefaultKeyedRateLimiter<ApiKeyId>> {
        let mut map = match self.api_keys.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(per_minute)
            .or_insert_with(|| Arc::new(RateLimiter::keyed(quota(per_minute))))
            .clone()
    }

    /// Forgets keys that are back at full capacity, bounding memory.
    pub fn shrink(&self) {
        self.any_ip.retain_recent();
        self.auth_ip.retain_recent();
        self.account.retain_recent();
        let mut map = match self.api_keys.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.retain(|_, limiter| {
            limiter.retain_recent();
            !limiter.is_empty()
        });
    }
}
