//! What a guard is configured with ([`GuardConfig`], once per service) and what a route
//! demands of a token ([`Requirement`], once per layer).

use std::time::Duration;

/// Configuration of a [`crate::Guard`], validated when the guard is built.
///
/// Fields are public so a service can fill them from its own configuration; start from
/// [`GuardConfig::new`] for sensible defaults.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// The only accepted `iss`: Portcullis's public base URL.
    pub issuer: String,
    /// The only accepted `aud`: this service's identifier.
    pub audience: String,
    /// Where the key set is published, e.g. `https://auth.example/.well-known/jwks.json`.
    pub jwks_url: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Lower bound between two key-set fetches triggered by unknown `kid`s, so a flood of
    /// forged `kid`s cannot turn into a flood of requests to Portcullis.
    pub min_refresh_interval: Duration,
    /// The key set is re-fetched when it is older than this, to pick up rotations and drop
    /// pruned keys.
    pub refresh_interval: Duration,
    /// Timeout of one key-set fetch.
    pub http_timeout: Duration,
    /// Most verified tokens kept in the cache.
    pub cache_capacity: usize,
    /// How long a revoked session id is remembered; at least the longest access-token
    /// lifetime, after which every token of that session has expired anyway.
    pub revocation_retention: Duration,
}

impl GuardConfig {
    /// A configuration with defaults: 30 s leeway, unknown-`kid` refreshes at most every 10 s,
    /// a periodic refresh every 5 min, 5 s fetch timeout, 10 000 cached tokens, and revoked
    /// sessions remembered for 24 h.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: jwks_url.into(),
            leeway: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(10),
            refresh_interval: Duration::from_secs(300),
            http_timeout: Duration::from_secs(5),
            cache_capacity: 10_000,
            revocation_retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a route demands of a verified token.
///
/// - every role in `roles` must be present in the token's `roles` (else 403);
/// - `acr`, when set, must be met: `aalN` values are ordered (`aal2` meets `aal1`), any other
///   value must match exactly (else 401 `insufficient_user_authentication`);
/// - `max_age`, when set, bounds `now - auth_time` in seconds (else the same 401).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirement {
    /// Roles the token must all hold.
    pub roles: Vec<String>,
    /// Least authentication context class, e.g. `"aal2"`.
    pub acr: Option<String>,
    /// Oldest acceptable authentication, in seconds before now.
    pub max_age: Option<i64>,
}

impl Requirement {
    /// Any valid token will do.
    pub fn authenticated() -> Self {
        Self::default()
    }

    /// Also demands `role`.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Also demands at least `acr`.
    #[must_use]
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Also demands an authentication at most `secs` seconds old.
    #[must_use]
    pub fn max_age(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }
}

/// Whether a token's `acr` meets a required one: `aalN` levels are ordered by `N`, anything
/// else must be equal.
pub(crate) fn acr_satisfies(have: &str, want: &str) -> bool {
    if have == want {
        return true;
    }
    match (aal_level(have), aal_level(want)) {
        (Some(h), Some(w)) => h >= w,
        _ => false,
    }
}

fn aal_level(acr: &str) -> Option<u8> {
    acr.strip_prefix("aal")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_levels_are_ordered() {
        assert!(acr_satisfies("aal2", "aal1"));
        assert!(acr_satisfies("aal2", "aal2"));
        assert!(!acr_satisfies("aal1", "aal2"));
        assert!(!acr_satisfies("gold", "aal1"));
        assert!(acr_satisfies("gold", "gold"));
        assert!(!acr_satisfies("aal", "aal1"));
    }
}
