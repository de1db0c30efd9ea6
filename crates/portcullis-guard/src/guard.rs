//! [`Guard`]: the verifier a service holds (cheap to clone), tying together the key set, the
//! verified-token cache, the revocation list and the per-route [`Requirement`] checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use portcullis_core::token::{self, Expectation, Header, Shortfall};

use crate::cache::{Revocations, VerifiedCache};
use crate::dpop::{DpopState, Presented, request_uri};
use crate::{GuardConfig, GuardError, JwksCache, Rejection, Requirement, Verified};

/// The source of `now` in unix seconds; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Verifies Portcullis access tokens for one service (one issuer, one audience).
///
/// Clone it freely: clones share the key set, the cache and the revocation list.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
    clock: Clock,
}

struct Inner {
    config: GuardConfig,
    /// `config.leeway` in whole seconds, as the claim checks take it.
    leeway_secs: i64,
    /// What every request to Portcullis goes through: the key set's fetches and the
    /// revocation feed.
    client: reqwest::Client,
    jwks: Arc<JwksCache>,
    cache: VerifiedCache,
    revocations: Revocations,
    cache_hits: AtomicU64,
    signature_checks: AtomicU64,
    dpop: DpopState,
}

/// Counters for metrics and tests, from [`Guard::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardStats {
    cache_hits: u64,
    signature_checks: u64,
    jwks_fetches: u64,
    cached_tokens: usize,
}

impl GuardStats {
    /// Tokens answered from the verified-token cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits
    }

    /// Signatures checked (first sight of a token).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks
    }

    /// Key-set fetches attempted.
    pub fn jwks_fetches(&self) -> u64 {
        self.jwks_fetches
    }

    /// Tokens currently cached.
    pub fn cached_tokens(&self) -> usize {
        self.cached_tokens
    }
}

impl Guard {
    /// A guard with its own HTTP client (rustls, [`GuardConfig::http_timeout`]).
    ///
    /// # Errors
    /// [`GuardError::Config`] if the HTTP client cannot be built.
    pub fn new(config: GuardConfig) -> Result<Self, GuardError> {
        let client = reqwest::Client::builder()
            .timeout(config.http_timeout())
            .build()
            .map_err(|e| GuardError::Config(e.to_string()))?;
        Self::with_client(config, client)
    }

    /// A guard that makes its requests to Portcullis with `client`: the key set's fetches
    /// and the revocation feed's (whose requests are also bounded by
    /// [`GuardConfig::http_timeout`] each).
    ///
    /// # Errors
    /// [`GuardError::Config`] when the OS gives no randomness for the DPoP nonce key.
    pub fn with_client(config: GuardConfig, client: reqwest::Client) -> Result<Self, GuardError> {
        let jwks = Arc::new(JwksCache::new(
            config.jwks_url(),
            client.clone(),
            config.min_refresh_interval(),
            config.refresh_interval(),
        ));
        let retention = secs(config.revocation_retention());
        let inner = Inner {
            cache: VerifiedCache::new(config.cache_capacity()),
            revocations: Revocations::new(retention),
            leeway_secs: secs(config.leeway()),
            config,
            client,
            jwks,
            cache_hits: AtomicU64::new(0),
            signature_checks: AtomicU64::new(0),
            dpop: DpopState::new()?,
        };
        Ok(Self {
            inner: Arc::new(inner),
            clock: Arc::new(system_now),
        })
    }

    /// Replaces the clock (unix seconds), e.g. to test expiry and `max_age`.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration this guard was built with.
    pub fn config(&self) -> &GuardConfig {
        &self.inner.config
    }

    /// The current time by this guard's clock, unix seconds.
    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The HTTP client of this guard's requests to Portcullis.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The key set, e.g. to [`JwksCache::refresh`] at start-up or
    /// [`JwksCache::spawn_periodic_refresh`].
    pub fn jwks(&self) -> &Arc<JwksCache> {
        &self.inner.jwks
    }

    /// Current counters.
    pub fn stats(&self) -> GuardStats {
        GuardStats {
            cache_hits: self.inner.cache_hits.load(Ordering::Relaxed),
            signature_checks: self.inner.signature_checks.load(Ordering::Relaxed),
            jwks_fetches: self.inner.jwks.fetch_count(),
            cached_tokens: self.inner.cache.len(),
        }
    }

    /// Verifies a bearer token: size, header (`alg` `EdDSA` only, `typ` `at+jwt`), key by
    /// `kid` (fetching the key set if needed), signature, `iss`, `aud`, `exp`/`nbf` with the
    /// leeway, and revocation of its session. A token seen before is answered from the cache
    /// (its expiry and revocation are still checked).
    ///
    /// # Errors
    /// The first failed check as a [`GuardError`]; [`GuardError::is_unavailable`] tells
    /// failures of ours (no key set) from bad tokens.
    pub async fn verify(&self, token: &str) -> Result<Verified, GuardError> {
        let inner = &self.inner;
        // Before the cache, so an oversized token is never even hashed.
        token::check_length(token)?;
        let now = (self.clock)();
        if let Some(claims) = inner.cache.get(token) {
            inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            if let Err(err) = claims.check_window(inner.leeway_secs, now) {
                inner.cache.remove(token);
                return Err(err.into());
            }
            if inner.revocations.is_revoked(&claims.sid) {
                return Err(GuardError::Revoked);
            }
            return Ok(Verified::new(claims));
        }
        // Core's steps, so the guard and the issuer's verifier agree on every token.
        let header = Header::parse(token)?;
        let key = inner.jwks.key(header.kid()).await?;
        inner.signature_checks.fetch_add(1, Ordering::Relaxed);
        let expect = Expectation {
            issuer: inner.config.issuer(),
            audience: inner.config.audience(),
            leeway_secs: inner.leeway_secs,
        };
        let claims = Arc::new(token::verify_with_key(token, &key, &expect, now)?);
        if inner.revocations.is_revoked(&claims.sid) {
            return Err(GuardError::Revoked);
        }
        inner.cache.insert(token, Arc::clone(&claims), now);
        Ok(Verified::new(claims))
    }

    /// Checks verified claims against a route's requirement: roles first (a step-up cannot
    /// grant a role), then `acr`, then `max_age` against `auth_time`.
    ///
    /// # Errors
    /// [`Rejection::Forbidden`] for missing roles, [`Rejection::StepUp`] for too weak or too
    /// old an authentication.
    pub fn check(&self, verified: &Verified, requirement: &Requirement) -> Result<(), Rejection> {
        let reason = match requirement.check(verified.claims(), (self.clock)()) {
            Ok(()) => return Ok(()),
            Err(Shortfall::MissingRole) => return Err(Rejection::Forbidden),
            Err(Shortfall::WeakAcr) => "A stronger authentication is required",
            Err(Shortfall::TooOld) => "A more recent authentication is required",
        };
        Err(Rejection::StepUp {
            acr: requirement.required_acr().map(str::to_owned),
            max_age: requirement.required_max_age(),
            reason,
        })
    }

    /// Reads the token of `headers` (`Authorization: Bearer`, or `DPoP` with its proof),
    /// verifies it and checks it against `requirement`: what [`crate::GuardLayer`] does on
    /// every request. A DPoP-bound token's proof must be for `method` on `path` at this
    /// service's [`GuardConfig::public_origin`].
    ///
    /// # Errors
    /// A [`Rejection`], which renders as the right problem+json response.
    pub async fn authorize(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        requirement: &Requirement,
    ) -> Result<Verified, Rejection> {
        let presented = Presented::from_headers(headers)?;
        let verified = self.verify(presented.token()).await.map_err(|err| {
            if err.is_unavailable() {
                tracing::error!(error = %err, "cannot verify access tokens");
                Rejection::Unavailable
            } else {
                tracing::debug!(error = %err, "access token refused");
                Rejection::InvalidToken(err)
            }
        })?;
        let uri = request_uri(self.inner.config.public_origin(), headers, path);
        self.inner
            .dpop
            .check(verified.claims(), presented, method, &uri, self.now())?;
        self.check(&verified, requirement)?;
        Ok(verified)
    }

    /// A fresh DPoP nonce of this guard (what its 401s carry in `DPoP-Nonce`).
    pub fn dpop_nonce(&self) -> String {
        self.inner.dpop.nonce(self.now())
    }

    /// Marks session `sid` revoked: its tokens, cached or not, are refused from now on.
    ///
    /// [`Guard::spawn_revocation_feed`] calls it for every session Portcullis's feed lists; a
    /// service that learns of revocations another way can call it itself. A revocation is
    /// remembered for [`GuardConfig::revocation_retention`].
    pub fn revoke_session(&self, sid: &str) {
        self.inner.revocations.revoke(sid, (self.clock)());
        self.inner.cache.remove_session(sid);
    }

    /// Whether session `sid` has been revoked (and is still remembered).
    pub fn is_session_revoked(&self, sid: &str) -> bool {
        self.inner.revocations.is_revoked(sid)
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Whole seconds of `duration`, as the claim checks and the revocation list count time.
fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
