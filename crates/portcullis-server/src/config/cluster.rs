//! `[cluster]`: several nodes on one database (and, optionally, one Redis).

use super::duration::millis;
use super::error::InvalidValue;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Several nodes on one database (and, optionally, one Redis).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// How often a node reads the revocations other nodes (or the CLI) wrote; with Redis,
    /// announcements make this a fallback.
    #[serde(rename = "revocation_poll_ms", with = "millis")]
    pub revocation_poll: Duration,
    /// How long a Redis command may take before the node falls back to its own counters.
    #[serde(rename = "redis_timeout_ms", with = "millis")]
    pub redis_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_prefix: "portcullis:".into(),
            revocation_poll: Duration::from_millis(500),
            redis_timeout: Duration::from_millis(250),
        }
    }
}

impl ClusterConfig {
    /// Polling faster than 10 ms loads the database for nothing, slower than a minute leaves
    /// revoked sessions usable too long; a Redis timeout must be short enough to fall back.
    ///
    /// # Errors
    /// A value outside those bounds.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let ms = |d: Duration| d.as_millis();
        if !(10..=60_000).contains(&ms(self.revocation_poll)) {
            return Err(InvalidValue::new(
                "cluster.revocation_poll_ms",
                "must be 10 to 60000",
            ));
        }
        if !(1..=10_000).contains(&ms(self.redis_timeout)) {
            return Err(InvalidValue::new(
                "cluster.redis_timeout_ms",
                "must be 1 to 10000",
            ));
        }
        Ok(())
    }
}
