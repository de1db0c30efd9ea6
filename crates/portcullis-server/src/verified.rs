//! Sessions verified recently on the forward-auth path, so a proxy's sub-request for a token
//! seen a moment ago costs a hash and a map look-up instead of a signature check and a
//! database read.
//!
//! An entry never outlives its token, its session's idle and absolute expiry, or
//! [`MAX_CACHE_SECS`]; a hit is refused when the session is in the cluster's revoked set,
//! which every node keeps current (see [`crate::cluster`]), so a revocation anywhere takes
//! effect here within the cluster's propagation time. The key is the SHA-256 of the token,
//! so token text is not held. The internal token handed to the upstream is kept on the
//! entry and reused while it has more than half its life left.

use axum::http::HeaderMap;
use portcullis_core::ids::SessionId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::auth::AuthSession;
use crate::config::DurationExt as _;
use crate::services::ServiceError;
use crate::state::AppState;

/// Most entries held; when full, expired entries go first, then arbitrary ones.
pub const CAPACITY: usize = 100_000;

/// Longest an entry is trusted without reading the session again, in seconds.
pub const MAX_CACHE_SECS: i64 = 30;

/// Identity headers kept per entry (one set per upstream audience).
const AUDIENCES_PER_ENTRY: usize = 8;

/// A verified session and what was minted for it.
pub struct Verified {
    /// The session the token belongs to.
    pub session: AuthSession,
    /// Unix seconds after which the entry is not used.
    until: i64,
    /// (audience, identity headers with the internal token, the token's `exp`).
    internal: Mutex<Vec<(String, HeaderMap, i64)>>,
}

impl Verified {
    /// The identity headers (internal token included) for `audience`: the kept ones while
    /// more than half of the token's `ttl_secs` remains, else new ones from `mint` (which
    /// returns the headers and the token's `exp`). Keeping the finished headers, not just
    /// the token, spares re-validating a 600-byte header value on every request.
    ///
    /// # Errors
    /// Whatever `mint` fails with.
    pub fn identity_headers(
        &self,
        audience: &str,
        ttl_secs: i64,
        now: i64,
        mint: impl FnOnce() -> Result<(HeaderMap, i64), ServiceError>,
    ) -> Result<HeaderMap, ServiceError> {
        let mut kept = self.internal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, headers, _)) = kept
            .iter()
            .find(|(aud, _, exp)| aud == audience && (exp - now) * 2 > ttl_secs)
        {
            return Ok(headers.clone());
        }
        let (headers, exp) = mint()?;
        kept.retain(|(aud, _, exp)| aud != audience && *exp > now);
        if kept.len() >= AUDIENCES_PER_ENTRY {
            kept.remove(0);
        }
        kept.push((audience.to_owned(), headers.clone(), exp));
        Ok(headers)
    }
}

/// The cache.
pub struct VerifiedSessions {
    capacity: usize,
    entries: RwLock<HashMap<[u8; 32], Arc<Verified>>>,
}

impl VerifiedSessions {
    /// An empty cache of at most `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Arc<Verified>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn insert(&self, key: [u8; 32], entry: Arc<Verified>, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.until > now);
        }
        while entries.len() >= self.capacity {
            let Some(victim) = entries.keys().next().copied() else {
                break;
            };
            entries.remove(&victim);
        }
        entries.insert(key, entry);
    }

    /// Drops expired entries.
    pub fn prune(&self, now: i64) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, e| e.until > now);
    }

    /// Drops every entry of `session`.
    pub fn forget_session(&self, session: SessionId) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, e| e.session.session != session);
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// [`crate::auth::verify_token`] and [`crate::auth::session_of`] through the cache. The
/// caller checks the token's presentation ([`crate::auth::dpop::check_presentation`]).
///
/// # Errors
/// [`ServiceError::Unauthenticated`] for any bad, expired or revoked token.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Arc<Verified>, ServiceError> {
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let now = state.now();
    if let Some(hit) = state.verified.get(&key) {
        if now < hit.until && !state.cluster.revoked.contains(&hit.session.session) {
            metrics::counter!("portcullis_verified_cache_total", "outcome" => "hit").increment(1);
            return Ok(hit);
        }
        if state.cluster.revoked.contains(&hit.session.session) {
            state.verified.forget_session(hit.session.session);
            return Err(ServiceError::Unauthenticated("the session has ended"));
        }
    }
    metrics::counter!("portcullis_verified_cache_total", "outcome" => "miss").increment(1);
    // How the token was presented (bearer, or DPoP with a proof for this request) is the
    // caller's to check on every request, hit or miss: see `auth::dpop`.
    let claims = crate::auth::verify_token(state, token, state.config.tokens.leeway.as_secs_i64())?;
    let (session, record) = crate::auth::session_of(state, claims).await?;
    let until = [
        session.claims.exp,
        record.idle_expires_at,
        record.absolute_expires_at,
        now + MAX_CACHE_SECS,
    ]
    .into_iter()
    .min()
    .unwrap_or(now);
    let entry = Arc::new(Verified {
        session,
        until,
        internal: Mutex::new(Vec::new()),
    });
    // Re-check after reading: a revocation learned between the read and now wins.
    if state.cluster.revoked.contains(&entry.session.session) {
        return Err(ServiceError::Unauthenticated("the session has ended"));
    }
    state.verified.insert(key, entry.clone(), now);
    Ok(entry)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failure is a test failure"
)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn entry() -> Verified {
        Verified {
            session: AuthSession {
                claims: serde_json::from_value(serde_json::json!({
                    "iss": "i", "sub": "s", "aud": "a", "exp": 1_000, "iat": 0, "nbf": 0,
                    "jti": "j", "sid": "x", "roles": [], "acr": "aal1", "amr": ["pwd"],
                    "auth_time": 0
                }))
                .expect("claims"),
                account: portcullis_core::ids::AccountId::from_uuid(uuid::Uuid::nil()),
                session: SessionId::from_uuid(uuid::Uuid::nil()),
            },
            until: 1_000,
            internal: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn internal_tokens_are_reused_per_audience_while_half_their_life_remains() {
        let e = entry();
        let mut minted = 0;
        let mut mint = |now: i64| {
            minted += 1;
            let mut h = HeaderMap::new();
            h.insert("x-n", HeaderValue::from(minted));
            Ok((h, now + 60))
        };
        let first = e.identity_headers("app", 60, 100, || mint(100)).unwrap();
        assert_eq!(
            e.identity_headers("app", 60, 129, || mint(129)).unwrap(),
            first
        );
        let other = e.identity_headers("api", 60, 129, || mint(129)).unwrap();
        assert_ne!(other, first, "another audience gets its own token");
        let renewed = e.identity_headers("app", 60, 130, || mint(130)).unwrap();
        assert_ne!(renewed, first, "half the life gone: a new one");
        assert_eq!(
            e.identity_headers("api", 60, 131, || mint(131)).unwrap(),
            other
        );
        assert_eq!(
            e.internal.lock().unwrap().len(),
            2,
            "the old one was replaced"
        );
    }
}
