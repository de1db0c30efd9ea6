//! What a guard is configured with ([`GuardConfig`], once per service) and what a route
//! demands of a token ([`Requirement`], once per layer).

use std::time::Duration;

/// Configuration of a [`crate::Guard`]: whom it trusts and how it fetches and caches.
///
/// Built with [`GuardConfig::builder`] (or [`GuardConfig::new`] for the defaults), so a
/// setting added later does not break a service that fills in the ones it knows; read back
/// through its accessors.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    issuer: String,
    audience: String,
    jwks_url: String,
    leeway: Duration,
    min_refresh_interval: Duration,
    refresh_interval: Duration,
    http_timeout: Duration,
    cache_capacity: usize,
    revocation_retention: Duration,
    public_origin: Option<String>,
}

impl GuardConfig {
    /// A configuration with the defaults of [`GuardConfig::builder`].
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> Self {
        Self::builder(issuer, audience, jwks_url).build()
    }

    /// Starts a configuration for tokens of `issuer` (Portcullis's public base URL, the only
    /// accepted `iss`) addressed to `audience` (this service, the only accepted `aud`), whose
    /// keys are published at `jwks_url` (e.g. `https://auth.example/.well-known/jwks.json`).
    ///
    /// Defaults: 30 s leeway, unknown-`kid` refreshes at most every 10 s, a periodic refresh
    /// every 5 min, a 5 s timeout per request to Portcullis, 10 000 cached tokens, and revoked
    /// sessions remembered for 24 h.
    pub fn builder(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> GuardConfigBuilder {
        GuardConfigBuilder {
            config: Self {
                issuer: issuer.into(),
                audience: audience.into(),
                jwks_url: jwks_url.into(),
                leeway: Duration::from_secs(30),
                min_refresh_interval: Duration::from_secs(10),
                refresh_interval: Duration::from_secs(300),
                http_timeout: Duration::from_secs(5),
                cache_capacity: 10_000,
                revocation_retention: Duration::from_secs(24 * 3600),
                public_origin: None,
            },
        }
    }

    /// The only accepted `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The only accepted `aud`.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Where the key set is published.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// Clock skew tolerated on `exp` and `nbf`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Least time between two key-set fetches triggered by unknown `kid`s.
    pub fn min_refresh_interval(&self) -> Duration {
        self.min_refresh_interval
    }

    /// Age at which the key set is fetched again.
    pub fn refresh_interval(&self) -> Duration {
        self.refresh_interval
    }

    /// Timeout of one request to Portcullis.
    pub fn http_timeout(&self) -> Duration {
        self.http_timeout
    }

    /// Most verified tokens kept in the cache.
    pub fn cache_capacity(&self) -> usize {
        self.cache_capacity
    }

    /// How long a revoked session id is remembered.
    pub fn revocation_retention(&self) -> Duration {
        self.revocation_retention
    }

    /// The scheme and authority clients address this service by (`https://api.example`),
    /// from which the URI a DPoP proof must name is built (with the request's path).
    pub fn public_origin(&self) -> Option<&str> {
        self.public_origin.as_deref()
    }
}

/// Builds a [`GuardConfig`]; from [`GuardConfig::builder`], which sets the defaults.
#[derive(Clone, Debug)]
#[must_use]
pub struct GuardConfigBuilder {
    config: GuardConfig,
}

impl GuardConfigBuilder {
    /// Clock skew tolerated on `exp` and `nbf`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.leeway = leeway;
        self
    }

    /// Lower bound between two key-set fetches triggered by unknown `kid`s, so a flood of
    /// forged `kid`s cannot turn into a flood of requests to Portcullis.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.config.min_refresh_interval = interval;
        self
    }

    /// The key set is re-fetched when it is older than this, to pick up rotations and drop
    /// pruned keys.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.config.refresh_interval = interval;
        self
    }

    /// Timeout of one request to Portcullis: a key-set fetch (with the client
    /// [`crate::Guard::new`] builds), a revocation-feed poll, a token request of the feed.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_timeout = timeout;
        self
    }

    /// Most verified tokens kept in the cache (0 turns the cache off).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.config.cache_capacity = capacity;
        self
    }

    /// How long a revoked session id is remembered; at least the longest access-token
    /// lifetime, after which every token of that session has expired anyway.
    pub fn revocation_retention(mut self, retention: Duration) -> Self {
        self.config.revocation_retention = retention;
        self
    }

    /// The scheme and authority clients address this service by (`https://api.example`,
    /// no path): DPoP proofs (RFC 9449) name the URI the client called, which a service
    /// behind a proxy cannot tell from its own request. Unset, the guard uses `http://` and
    /// the request's `Host` header, which a client picks: set it for any service that takes
    /// DPoP-bound (wallet session) tokens.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.public_origin = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// The configuration.
    pub fn build(self) -> GuardConfig {
        self.config
    }
}
