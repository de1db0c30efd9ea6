//! `[rate_limit]`: request rates (GCRA), per minute with a burst.

use super::error::{InvalidValue, positive};
use serde::{Deserialize, Serialize};

/// Request rate limits (GCRA), per minute with a burst.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Any request, per client IP.
    pub per_ip_per_minute: u32,
    /// Login, registration and password-reset requests, per client IP.
    pub auth_per_ip_per_minute: u32,
    /// Login attempts per account (keyed by the e-mail's blind index).
    pub per_account_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 600,
            auth_per_ip_per_minute: 60,
            per_account_per_minute: 10,
        }
    }
}

impl RateLimitConfig {
    /// A zero rate would refuse everything; turning a limit off is not offered.
    ///
    /// # Errors
    /// The first zero rate.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive("rate_limit.per_ip_per_minute", self.per_ip_per_minute == 0)?;
        positive(
            "rate_limit.auth_per_ip_per_minute",
            self.auth_per_ip_per_minute == 0,
        )?;
        positive(
            "rate_limit.per_account_per_minute",
            self.per_account_per_minute == 0,
        )
    }
}
