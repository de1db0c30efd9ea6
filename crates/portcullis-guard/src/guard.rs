//! [`Guard`]: the verifier a service holds (cheap to clone), tying together the key set, the
//! verified-token cache, the revocation list and the per-route [`Requirement`] checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;

use crate::cache::{Revocations, VerifiedCache};
use crate::config::acr_satisfies;
use crate::verify::{self, Expect, MAX_TOKEN_BYTES};
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
    jwks: Arc<JwksCache>,
    cache: VerifiedCache,
    revocations: Revocations,
    cache_hits: AtomicU64,
    signature_checks: AtomicU64,
}

/// Counters for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardStats {
    /// Tokens answered from the verified-token cache.
    pub cache_hits: u64,
    /// Signatures checked (first sight of a token).
    pub signature_checks: u64,
    /// Key-set fetches attempted.
    pub jwks_fetches: u64,
    /// Tokens currently cached.
    pub cached_tokens: usize,
}

impl Guard {
    /// A guard with its own HTTP client (rustls, `config.http_timeout`).
    ///
    /// # Errors
    /// [`GuardError::Config`] if the HTTP client cannot be built.
    pub fn new(config: GuardConfig) -> Result<Self, GuardError> {
        let client = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .build()
            .map_err(|e| GuardError::Config(e.to_string()))?;
        Ok(Self::with_client(config, client))
    }

    /// A guard that fetches the key set with `client`.
    pub fn with_client(config: GuardConfig, client: reqwest::Client) -> Self {
        let jwks = Arc::new(JwksCache::new(
            config.jwks_url.clone(),
            client,
            config.min_refresh_interval,
            config.refresh_interval,
        ));
        let retention = i64::try_from(config.revocation_retention.as_secs()).unwrap_or(i64::MAX);
        let inner = Inner {
            cache: VerifiedCache::new(config.cache_capacity),
            revocations: Revocations::new(retention),
            config,
            jwks,
            cache_hits: AtomicU64::new(0),
            signature_checks: AtomicU64::new(0),
        };
        Self {
            inner: Arc::new(inner),
            clock: Arc::new(system_now),
        }
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
        if token.len() > MAX_TOKEN_BYTES {
            return Err(GuardError::Oversized);
        }
        let now = (self.clock)();
        let leeway = i64::try_from(inner.config.leeway.as_secs()).unwrap_or(i64::MAX);
        if let Some(claims) = inner.cache.get(token) {
            inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            if let Err(err) = verify::check_window(&claims, leeway, now) {
                inner.cache.remove(token);
                return Err(err);
            }
            if inner.revocations.is_revoked(&claims.sid) {
                return Err(GuardError::Revoked);
            }
            return Ok(Verified::new(claims));
        }
        let kid = verify::parse_header(token)?;
        let key = inner.jwks.key(&kid).await?;
        inner.signature_checks.fetch_add(1, Ordering::Relaxed);
        let expect = Expect {
            issuer: &inner.config.issuer,
            audience: &inner.config.audience,
            leeway_secs: leeway,
        };
        let claims = Arc::new(verify::check_token(token, &key, &expect, now)?);
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
        let claims = verified.claims();
        if !requirement
            .roles
            .iter()
            .all(|role| claims.roles.iter().any(|r| r == role))
        {
            return Err(Rejection::Forbidden);
        }
        let acr_low = requirement
            .acr
            .as_deref()
            .is_some_and(|want| !acr_satisfies(&claims.acr, want));
        let too_old = requirement
            .max_age
            .is_some_and(|max| (self.clock)().saturating_sub(claims.auth_time) > max);
        if acr_low || too_old {
            return Err(Rejection::StepUp {
                acr: requirement.acr.clone(),
                max_age: requirement.max_age,
                reason: if acr_low {
                    "A stronger authentication is required"
                } else {
                    "A more recent authentication is required"
                },
            });
        }
        Ok(())
    }

    /// Reads `Authorization: Bearer …` from `headers`, verifies the token and checks it
    /// against `requirement`: what [`crate::GuardLayer`] does on every request.
    ///
    /// # Errors
    /// A [`Rejection`], which renders as the right problem+json response.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        requirement: &Requirement,
    ) -> Result<Verified, Rejection> {
        let token = bearer_token(headers)?;
        let verified = self.verify(token).await.map_err(|err| {
            if err.is_unavailable() {
                tracing::error!(error = %err, "cannot verify access tokens");
                Rejection::Unavailable
            } else {
                tracing::debug!(error = %err, "access token refused");
                Rejection::InvalidToken(err)
            }
        })?;
        self.check(&verified, requirement)?;
        Ok(verified)
    }

    /// Marks session `sid` revoked: its tokens, cached or not, are refused from now on.
    ///
    /// [`Guard::spawn_revocation_feed`] calls it for every session Portcullis's feed lists; a
    /// service that learns of revocations another way can call it itself. A revocation is
    /// remembered for `revocation_retention`.
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

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Result<&str, Rejection> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(Rejection::MissingToken);
    };
    let value = value
        .to_str()
        .map_err(|_| Rejection::InvalidToken(GuardError::Malformed))?;
    let (scheme, token) = value.split_once(' ').ok_or(Rejection::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Rejection::InvalidToken(GuardError::Malformed));
    }
    Ok(token)
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
