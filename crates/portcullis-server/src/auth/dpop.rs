//! Sender-constrained tokens (RFC 9449 DPoP) on requests to Portcullis itself.
//!
//! A wallet session's access tokens carry `cnf.jkt`, the thumbprint of the session key the
//! wallet delegated to. Such a token is accepted only as `Authorization: DPoP <token>` with a
//! `DPoP` header: a proof JWS by that key over this request's method and URI, the hash of the
//! token, a recent time, a single-use `jti` and a nonce this server issued. A stolen token
//! alone is refused, and so is a token without `cnf` under the `DPoP` scheme.
//!
//! Nonces are stateless (a time window and an HMAC under a key derived from the keyring), so
//! every node of a cluster accepts every other node's. The `jti` replay cache is per node;
//! a proof is good for [`PROOF_MAX_AGE_SECS`], so a replay on another node within that time
//! is the one it does not catch (the nonce and the method/URI binding still hold).

use std::sync::Mutex;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use portcullis_core::token::AccessClaims;
use portcullis_core::token::dpop::{self, DpopError, KeyCache, NonceKey, ProofCheck, ReplayCache};

use crate::services::ServiceError;
use crate::state::AppState;

/// Seconds a proof stays good after its `iat`.
pub const PROOF_MAX_AGE_SECS: i64 = 60;
/// Seconds a client's clock may run ahead.
pub const PROOF_SKEW_SECS: i64 = 5;
/// Seconds a server nonce window lasts (the current and the previous are accepted).
pub const NONCE_WINDOW_SECS: u32 = 60;
/// Proofs remembered per node for replay detection.
pub const REPLAY_CAPACITY: usize = 100_000;
/// Session keys kept decoded per node.
pub const KEY_CAPACITY: usize = 10_000;

/// The node's DPoP state: the replay cache.
pub struct DpopState {
    replay: Mutex<ReplayCache>,
    keys: KeyCache,
}

impl Default for DpopState {
    fn default() -> Self {
        Self {
            replay: Mutex::new(ReplayCache::new(REPLAY_CAPACITY, PROOF_MAX_AGE_SECS)),
            keys: KeyCache::new(KEY_CAPACITY),
        }
    }
}

impl std::fmt::Debug for DpopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopState").finish_non_exhaustive()
    }
}

/// How a request presented its access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: DPoP <token>`, with the `DPoP` header when there is exactly one.
    Dpop {
        /// The access token.
        token: &'a str,
        /// The proof.
        proof: Option<&'a str>,
    },
}

impl<'a> Presented<'a> {
    /// The token, however presented.
    pub fn token(&self) -> &'a str {
        match self {
            Presented::Bearer(t) | Presented::Dpop { token: t, .. } => t,
        }
    }

    /// Reads `Authorization` (and `DPoP`) from `headers`.
    pub fn from_headers(headers: &'a HeaderMap) -> Option<Self> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(Presented::Bearer(token));
        }
        if !scheme.eq_ignore_ascii_case("dpop") {
            return None;
        }
        let mut proofs = headers.get_all("dpop").iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(p), None) => p.to_str().ok(),
            _ => None,
        };
        Some(Presented::Dpop { token, proof })
    }
}

/// An owned [`Presented`]: what forward-auth reads from a proxied request (or its cookie).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token (or the pages' access cookie).
    Bearer(String),
    /// A DPoP-bound token and its proof.
    Dpop {
        /// The access token.
        token: String,
        /// The proof.
        proof: Option<String>,
    },
}

impl Credential {
    /// Borrows it as [`Presented`].
    pub fn presented(&self) -> Presented<'_> {
        match self {
            Credential::Bearer(t) => Presented::Bearer(t),
            Credential::Dpop { token, proof } => Presented::Dpop {
                token,
                proof: proof.as_deref(),
            },
        }
    }
}

impl From<Presented<'_>> for Credential {
    fn from(p: Presented<'_>) -> Self {
        match p {
            Presented::Bearer(t) => Credential::Bearer(t.to_owned()),
            Presented::Dpop { token, proof } => Credential::Dpop {
                token: token.to_owned(),
                proof: proof.map(str::to_owned),
            },
        }
    }
}

/// The nonce key every node derives from the keyring.
fn nonce_key(state: &AppState) -> NonceKey {
    NonceKey::new(
        state.keyring().blind_index("portcullis/dpop-nonce", "v1"),
        NONCE_WINDOW_SECS,
    )
}

/// A fresh server nonce (for the `DPoP-Nonce` header).
pub fn fresh_nonce(state: &AppState) -> String {
    nonce_key(state).issue(state.now())
}

fn refused(state: &AppState, e: &DpopError) -> ServiceError {
    ServiceError::Dpop {
        detail: e.to_string(),
        use_nonce: matches!(e, DpopError::UseNonce),
        nonce: fresh_nonce(state),
    }
}

/// The request URI a proof must name: this server's public origin and the request's path.
pub fn request_uri(state: &AppState, parts: &Parts) -> String {
    format!(
        "{}{}",
        state.config.public_url().trim_end_matches('/'),
        parts.uri.path()
    )
}

/// Checks that `claims` were presented as their binding demands: a bound token (with
/// `cnf`) with a good proof for this `method` and `uri`, an unbound one as a bearer token.
///
/// # Errors
/// [`ServiceError::Dpop`] with what is wrong and a fresh nonce.
pub fn check_presentation(
    state: &AppState,
    claims: &AccessClaims,
    presented: Presented<'_>,
    method: &str,
    uri: &str,
) -> Result<(), ServiceError> {
    let bound = claims.cnf.as_ref().map(|c| c.jkt.as_str());
    match (bound, presented) {
        (None, Presented::Bearer(_)) => Ok(()),
        (Some(_), Presented::Bearer(_)) => Err(refused(state, &DpopError::BoundToken)),
        (None, Presented::Dpop { .. }) => Err(refused(state, &DpopError::UnboundToken)),
        (Some(jkt), Presented::Dpop { token, proof }) => {
            let proof = proof.ok_or_else(|| refused(state, &DpopError::MissingProof))?;
            let now = state.now();
            let check = ProofCheck {
                method,
                uri,
                now,
                max_age_secs: PROOF_MAX_AGE_SECS,
                skew_secs: PROOF_SKEW_SECS,
                access_token: Some(token),
                jkt: Some(jkt),
                nonces: Some(&nonce_key(state)),
                keys: Some(&state.dpop.keys),
            };
            let verified = dpop::verify(proof, &check).map_err(|e| refused(state, &e))?;
            let mut replay = match state.dpop.replay.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            replay
                .check_and_remember(&verified.jkt, &verified.jti, verified.iat, now)
                .map_err(|e| refused(state, &e))
        }
    }
}

/// The key thumbprint of the `DPoP` proof of a token request (a refresh): a proof for
/// `POST` on `uri` with a current nonce, by whatever key; `None` without a `DPoP` header.
/// The caller compares the thumbprint with the session's.
///
/// # Errors
/// [`ServiceError::Dpop`] for a bad proof or several `DPoP` headers.
pub fn token_request_key(
    state: &AppState,
    headers: &HeaderMap,
    uri: &str,
) -> Result<Option<String>, ServiceError> {
    let mut proofs = headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Ok(None),
        (Some(p), None) => p
            .to_str()
            .map_err(|_| refused(state, &DpopError::MissingProof))?,
        (Some(_), Some(_)) => return Err(refused(state, &DpopError::MissingProof)),
    };
    let now = state.now();
    let check = ProofCheck {
        method: "POST",
        uri,
        now,
        max_age_secs: PROOF_MAX_AGE_SECS,
        skew_secs: PROOF_SKEW_SECS,
        access_token: None,
        jkt: None,
        nonces: Some(&nonce_key(state)),
        keys: Some(&state.dpop.keys),
    };
    let verified = dpop::verify(proof, &check).map_err(|e| refused(state, &e))?;
    let mut replay = match state.dpop.replay.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    replay
        .check_and_remember(&verified.jkt, &verified.jti, verified.iat, now)
        .map_err(|e| refused(state, &e))?;
    Ok(Some(verified.jkt))
}
