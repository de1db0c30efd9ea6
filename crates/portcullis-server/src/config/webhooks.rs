//! `[webhooks]`: how account events reach subscribers (Standard Webhooks): the HTTP timeout,
//! the retry schedule and when a delivery is given up, how many go out at once, and how long
//! a rotated secret still signs.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use portcullis_core::webhook::RetryPolicy;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// How long one delivery may take (connect, send, answer); redirects are never followed.
    #[serde(rename = "timeout_secs", with = "secs")]
    pub timeout: Duration,
    /// Attempts after which a delivery is given up (marked failed and audited).
    pub max_attempts: i64,
    /// Age of an event after which its delivery is given up, whatever the attempts.
    #[serde(rename = "max_age_secs", with = "secs")]
    pub max_age: Duration,
    /// The wait after the first failure; it doubles after each one.
    #[serde(rename = "retry_base_secs", with = "secs")]
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    #[serde(rename = "retry_max_secs", with = "secs")]
    pub retry_max: Duration,
    /// Deliveries in flight at once on one node (each to a different account or subscriber).
    pub concurrency: usize,
    /// After a rotation, how long deliveries are signed with the old secret too.
    #[serde(rename = "rotation_grace_secs", with = "secs")]
    pub rotation_grace: Duration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 12,
            max_age: Duration::from_secs(3 * 24 * 3600),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            concurrency: 8,
            rotation_grace: Duration::from_secs(24 * 3600),
        }
    }
}

impl WebhooksConfig {
    /// The retry schedule in seconds.
    pub fn retry_policy(&self) -> RetryPolicy {
        let s = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        RetryPolicy {
            max_attempts: self.max_attempts,
            max_age: s(self.max_age),
            base_delay: s(self.retry_base),
            max_delay: s(self.retry_max),
        }
    }

    /// Every bound positive; a timeout of at most 5 minutes (a delivery's lease is the
    /// timeout plus 30 s, and a signature older than 5 minutes is refused by receivers);
    /// a base delay no longer than the longest.
    ///
    /// # Errors
    /// The first bad key.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive("webhooks.timeout_secs", self.timeout.is_zero())?;
        if self.timeout > Duration::from_secs(300) {
            return Err(InvalidValue::new(
                "webhooks.timeout_secs",
                "must be at most 300",
            ));
        }
        positive("webhooks.max_attempts", self.max_attempts <= 0)?;
        positive("webhooks.max_age_secs", self.max_age.is_zero())?;
        positive("webhooks.retry_base_secs", self.retry_base.is_zero())?;
        positive("webhooks.concurrency", self.concurrency == 0)?;
        if self.retry_max < self.retry_base {
            return Err(InvalidValue::new(
                "webhooks.retry_max_secs",
                "must be at least webhooks.retry_base_secs",
            ));
        }
        Ok(())
    }
}
