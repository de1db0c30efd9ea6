//! DPoP (RFC 9449) at the guard: a wallet session's token is bound to its session key
//! (`cnf.jkt`) and is accepted only as `Authorization: DPoP <token>` with a proof by that key
//! for this request, so a token copied off the wire is useless without the key.
//!
//! The checks are core's ([`portcullis_core::token::dpop`]); the guard adds its own state: a
//! nonce key made at start (its nonces are its own: a proof made for Portcullis or for
//! another service does not pass here) and the `jti`s of the proofs it accepted. The proof
//! is checked on every request, also when the token itself is a cache hit. Whether the
//! session's ReqNFT is live comes from the revocation feed: a session ends (and its
//! ReqNFT burns) as one event.

use std::sync::{Mutex, PoisonError};

use axum::http::{HeaderMap, header};
use portcullis_core::token::AccessClaims;
use portcullis_core::token::dpop::{self, DpopError, KeyCache, NonceKey, ProofCheck, ReplayCache};

use crate::{GuardError, Rejection};

/// Seconds a proof stays good after its `iat`.
const PROOF_MAX_AGE_SECS: i64 = 60;
/// Seconds a client's clock may run ahead.
const PROOF_SKEW_SECS: i64 = 5;
/// Seconds a nonce window lasts (a nonce is good for one to two of them).
const NONCE_WINDOW_SECS: u32 = 60;
/// Live proofs remembered at most.
const REPLAY_CAPACITY: usize = 100_000;
/// Session keys kept decoded at most.
const KEY_CAPACITY: usize = 10_000;

/// The guard's DPoP state.
pub(crate) struct DpopState {
    nonces: NonceKey,
    replay: Mutex<ReplayCache>,
    keys: KeyCache,
}

impl DpopState {
    /// A fresh nonce key from the OS, an empty replay cache.
    pub(crate) fn new() -> Result<Self, GuardError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| GuardError::Config(e.to_string()))?;
        Ok(Self {
            nonces: NonceKey::new(secret, NONCE_WINDOW_SECS),
            replay: Mutex::new(ReplayCache::new(REPLAY_CAPACITY, PROOF_MAX_AGE_SECS)),
            keys: KeyCache::new(KEY_CAPACITY),
        })
    }

    /// A nonce for the next proof.
    pub(crate) fn nonce(&self, now: i64) -> String {
        self.nonces.issue(now)
    }

    fn refuse(&self, error: DpopError, now: i64) -> Rejection {
        Rejection::Dpop {
            error,
            nonce: self.nonce(now),
        }
    }

    /// Checks that `claims` came as their binding demands: with `cnf`, as a DPoP request
    /// whose proof is for `method` on `uri`; without, as a bearer token.
    pub(crate) fn check(
        &self,
        claims: &AccessClaims,
        presented: Presented<'_>,
        method: &str,
        uri: &str,
        now: i64,
    ) -> Result<(), Rejection> {
        let bound = claims.cnf.as_ref().map(|c| c.jkt.as_str());
        let (token, proof, jkt) = match (bound, presented) {
            (None, Presented::Bearer(_)) => return Ok(()),
            (Some(_), Presented::Bearer(_)) => {
                return Err(self.refuse(DpopError::BoundToken, now));
            }
            (None, Presented::Dpop { .. }) => {
                return Err(self.refuse(DpopError::UnboundToken, now));
            }
            (Some(jkt), Presented::Dpop { token, proof }) => (token, proof, jkt),
        };
        let proof = proof.ok_or_else(|| self.refuse(DpopError::MissingProof, now))?;
        let check = ProofCheck {
            method,
            uri,
            now,
            max_age_secs: PROOF_MAX_AGE_SECS,
            skew_secs: PROOF_SKEW_SECS,
            access_token: Some(token),
            jkt: Some(jkt),
            nonces: Some(&self.nonces),
            keys: Some(&self.keys),
        };
        let verified = dpop::verify(proof, &check).map_err(|e| self.refuse(e, now))?;
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check_and_remember(&verified.jkt, &verified.jti, verified.iat, now)
            .map_err(|e| self.refuse(e, now))
    }
}

/// How a request presented its token.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Presented<'a> {
    /// `Authorization: Bearer`.
    Bearer(&'a str),
    /// `Authorization: DPoP`, with its proof when exactly one `DPoP` header came.
    Dpop {
        token: &'a str,
        proof: Option<&'a str>,
    },
}

impl<'a> Presented<'a> {
    /// The token.
    pub(crate) fn token(&self) -> &'a str {
        match self {
            Presented::Bearer(t) | Presented::Dpop { token: t, .. } => t,
        }
    }

    /// Reads `Authorization` (scheme `Bearer` or `DPoP`, case-insensitive) and `DPoP`.
    pub(crate) fn from_headers(headers: &'a HeaderMap) -> Result<Self, Rejection> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(Rejection::MissingToken);
        };
        let value = value
            .to_str()
            .map_err(|_| Rejection::InvalidToken(GuardError::Malformed))?;
        let (scheme, token) = value.split_once(' ').ok_or(Rejection::MissingToken)?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Rejection::InvalidToken(GuardError::Malformed));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Presented::Bearer(token));
        }
        if !scheme.eq_ignore_ascii_case("dpop") {
            return Err(Rejection::MissingToken);
        }
        let mut proofs = headers.get_all("dpop").iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(p), None) => p.to_str().ok(),
            _ => None,
        };
        Ok(Presented::Dpop { token, proof })
    }
}

/// The URI a proof for this request must name: the configured public origin (or `http://`
/// and the `Host` header) and the request's path.
pub(crate) fn request_uri(origin: Option<&str>, headers: &HeaderMap, path: &str) -> String {
    match origin {
        Some(origin) => format!("{origin}{path}"),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            format!("http://{host}{path}")
        }
    }
}
