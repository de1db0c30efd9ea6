//! `[api_keys]`: API keys of front-end applications (`X-API-Key`).

use super::error::{InvalidValue, positive};
use serde::{Deserialize, Serialize};

/// API keys of front-end applications.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeysConfig {
    /// Requests per minute (GCRA, with a burst of the same size) a key may make when it was
    /// created without a rate of its own. Counted per key across nodes when Redis is set.
    pub default_rate_per_minute: u32,
}

impl Default for ApiKeysConfig {
    fn default() -> Self {
        Self {
            default_rate_per_minute: 600,
        }
    }
}

impl ApiKeysConfig {
    /// A zero rate would refuse every key that uses the default.
    ///
    /// # Errors
    /// A zero rate.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive(
            "api_keys.default_rate_per_minute",
            self.default_rate_per_minute == 0,
        )
    }
}
