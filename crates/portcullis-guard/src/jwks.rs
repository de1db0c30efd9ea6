//! The key set, fetched from Portcullis's JWKS endpoint and cached by `kid`.
//!
//! Keys are fetched lazily: on first use, when a token names a `kid` we do not hold (a key
//! rotation), and when the set is older than the refresh interval. Fetches triggered by an
//! unknown `kid` are at most one per `min_refresh_interval`, so forged `kid`s cannot make us
//! hammer Portcullis; fetches are single-flight (one at a time). When a fetch fails, the keys
//! already held stay in use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use portcullis_core::token::{Jwk, Jwks, jws};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::GuardError;

/// Largest JWKS document we accept.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Fetches and caches the Ed25519 verification keys of a JWKS endpoint.
pub struct JwksCache {
    url: String,
    client: reqwest::Client,
    min_refresh_interval: Duration,
    refresh_interval: Duration,
    keys: RwLock<KeySet>,
    /// When the last fetch was attempted; held across a fetch so fetches are single-flight.
    last_attempt: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct KeySet {
    /// Keys decoded once per fetch (the curve point decompressed), not once per token.
    by_kid: HashMap<String, VerifyingKey>,
    fetched_at: Option<Instant>,
}

impl JwksCache {
    /// A cache of the key set at `url`, with no keys yet.
    pub fn new(
        url: impl Into<String>,
        client: reqwest::Client,
        min_refresh_interval: Duration,
        refresh_interval: Duration,
    ) -> Self {
        Self {
            url: url.into(),
            client,
            min_refresh_interval,
            refresh_interval,
            keys: RwLock::new(KeySet::default()),
            last_attempt: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many fetches have been attempted (for metrics and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The `kid`s currently held.
    pub fn kids(&self) -> Vec<String> {
        self.read().by_kid.keys().cloned().collect()
    }

    /// The key named `kid`, fetching the set if it is unknown (within the rate bound) or stale.
    ///
    /// # Errors
    /// [`GuardError::UnknownKey`] if the key is not in the set after any allowed refresh;
    /// [`GuardError::JwksUnavailable`] if no key set has ever been fetched successfully.
    pub async fn key(&self, kid: &str) -> Result<VerifyingKey, GuardError> {
        let (found, stale) = self.lookup(kid);
        if let Some(key) = found {
            if stale {
                // Keep serving the key we hold even if the periodic refresh fails.
                self.refresh_stale().await;
            }
            return Ok(key);
        }
        let outcome = self.refresh_if_due(kid).await;
        if let (Some(key), _) = self.lookup(kid) {
            return Ok(key);
        }
        let never_fetched = self.read().fetched_at.is_none();
        match outcome {
            Err(err) if never_fetched => Err(err),
            Err(err) => {
                tracing::warn!(error = %err, "JWKS refresh for an unknown kid failed");
                Err(GuardError::UnknownKey)
            }
            Ok(()) if never_fetched => Err(GuardError::JwksUnavailable(
                "no key set fetched yet".to_owned(),
            )),
            Ok(()) => Err(GuardError::UnknownKey),
        }
    }

    /// Fetches the key set now, regardless of the rate bound (e.g. at start-up).
    ///
    /// # Errors
    /// [`GuardError::JwksUnavailable`] if the fetch fails; the keys held stay in use.
    pub async fn refresh(&self) -> Result<(), GuardError> {
        let mut last = self.last_attempt.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store().await
    }

    /// Spawns a task that refreshes the set every `refresh_interval`, so rotations are picked
    /// up without a request waiting on the fetch. Abort the handle to stop it.
    pub fn spawn_periodic_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(cache.refresh_interval);
            loop {
                ticker.tick().await;
                if let Err(err) = cache.refresh().await {
                    tracing::warn!(error = %err, "periodic JWKS refresh failed");
                }
            }
        })
    }

    /// Refreshes a stale set unless another task is already fetching (requests do not queue
    /// behind a slow periodic refresh) or the rate bound forbids it.
    async fn refresh_stale(&self) {
        let Ok(mut last) = self.last_attempt.try_lock() else {
            return;
        };
        if !self.lookup("").1 || last.is_some_and(|t| t.elapsed() < self.min_refresh_interval) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.fetch_and_store().await {
            tracing::warn!(error = %err, "periodic JWKS refresh failed");
        }
    }

    /// Refreshes for an unknown `kid`, within the rate bound. Skips the fetch if another task
    /// has meanwhile fetched a set holding `kid`.
    async fn refresh_if_due(&self, kid: &str) -> Result<(), GuardError> {
        let mut last = self.last_attempt.lock().await;
        if self.lookup(kid).0.is_some() {
            return Ok(());
        }
        if last.is_some_and(|t| t.elapsed() < self.min_refresh_interval) {
            return Ok(());
        }
        *last = Some(Instant::now());
        self.fetch_and_store().await
    }

    /// The key for `kid` if held, and whether the set is due for a periodic refresh.
    fn lookup(&self, kid: &str) -> (Option<VerifyingKey>, bool) {
        let set = self.read();
        let stale = set
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.refresh_interval);
        (set.by_kid.get(kid).cloned(), stale)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    async fn fetch_and_store(&self) -> Result<(), GuardError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let jwks = self.fetch().await?;
        let by_kid = decoding_keys(&jwks);
        tracing::debug!(keys = by_kid.len(), "JWKS fetched");
        let mut set = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        set.by_kid = by_kid;
        set.fetched_at = Some(Instant::now());
        Ok(())
    }

    async fn fetch(&self) -> Result<Jwks, GuardError> {
        let unavailable = |e: reqwest::Error| GuardError::JwksUnavailable(e.to_string());
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(GuardError::JwksUnavailable("JWKS is too large".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map_err(|e| GuardError::JwksUnavailable(format!("JWKS is not valid: {e}")))
    }
}

/// The usable keys of a set: Ed25519 signing keys only; anything else is skipped.
fn decoding_keys(jwks: &Jwks) -> HashMap<String, VerifyingKey> {
    jwks.keys
        .iter()
        .filter(|k| usable(k))
        .filter_map(|k| Some((k.kid.clone(), jws::verifying_key(&k.x)?)))
        .collect()
}

fn usable(jwk: &Jwk) -> bool {
    jwk.kty == "OKP" && jwk.crv == "Ed25519" && jwk.alg == "EdDSA" && jwk.use_ == "sig"
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}
