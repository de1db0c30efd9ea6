//! `[tokens]`: lifetimes of access tokens, refresh tokens and sessions.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Token and session lifetimes (`…_secs` keys, in seconds).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Access token lifetime.
    #[serde(rename = "access_ttl_secs", with = "secs")]
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    #[serde(rename = "refresh_ttl_secs", with = "secs")]
    pub refresh_ttl: Duration,
    /// A session ends after this much inactivity.
    #[serde(rename = "session_idle_secs", with = "secs")]
    pub session_idle: Duration,
    /// A session ends this long after login whatever happens.
    #[serde(rename = "session_absolute_secs", with = "secs")]
    pub session_absolute: Duration,
    /// Clock skew tolerated when checking `exp`/`nbf`.
    #[serde(rename = "leeway_secs", with = "secs")]
    pub leeway: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(14 * 86_400),
            session_idle: Duration::from_secs(2 * 86_400),
            session_absolute: Duration::from_secs(30 * 86_400),
            leeway: Duration::from_secs(30),
        }
    }
}

impl TokenConfig {
    /// Every lifetime but the leeway must be positive: a zero lifetime issues dead tokens.
    ///
    /// # Errors
    /// The first zero lifetime.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive("tokens.access_ttl_secs", self.access_ttl.is_zero())?;
        positive("tokens.refresh_ttl_secs", self.refresh_ttl.is_zero())?;
        positive("tokens.session_idle_secs", self.session_idle.is_zero())?;
        positive(
            "tokens.session_absolute_secs",
            self.session_absolute.is_zero(),
        )
    }
}
