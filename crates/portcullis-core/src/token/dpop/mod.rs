//! DPoP (RFC 9449): proofs that the caller holds the key an access token is bound to.
//!
//! A wallet session's tokens carry `cnf.jkt`, the RFC 7638 thumbprint of the session key the
//! wallet delegated to. Each request then comes with a proof: a compact JWS of type
//! `dpop+jwt`, signed by that key (`ES256K` or `EdDSA`, the public key in its `jwk` header),
//! over the request's method (`htm`) and URI without query (`htu`), the time (`iat`), a
//! single-use `jti`, the server's nonce and the hash of the token (`ath`). [`verify`] makes
//! every check of RFC 9449 §4.3 that needs no state; the caller keeps the `jti`s
//! ([`ReplayCache`]) and issues the nonces ([`NonceKey`]).
//!
//! Pure: the caller passes `now`; nothing here reads a clock or a random source.

mod key;
mod nonce;
mod replay;

pub use key::{EDDSA, ES256K, SessionKey, SessionSigner};
pub use nonce::NonceKey;
pub use replay::ReplayCache;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The `typ` of every proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The longest proof accepted (a real one is ~600 bytes; this bounds the parsing work).
pub const MAX_PROOF_BYTES: usize = 4096;

/// Why a proof (or the way a token was presented) was refused. The messages tell a client
/// what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// Not a compact JWS with a JSON header and claims of the expected shape.
    #[error("the DPoP proof is malformed: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Type,
    /// `alg` is not ES256K or EdDSA, or not the one of the header's key.
    #[error("the DPoP proof's alg must be ES256K or EdDSA, matching its key")]
    Algorithm,
    /// The header's `jwk` is not a public secp256k1 or Ed25519 key.
    #[error("the DPoP proof's jwk is not a public ES256K or EdDSA key")]
    InvalidKey,
    /// The header's `jwk` carries its private part.
    #[error("the DPoP proof's jwk carries a private key: never send it")]
    PrivateKey,
    /// The signature does not verify under the header's key.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `htm` is not this request's method.
    #[error("the DPoP proof is for another method")]
    Method,
    /// `htu` is not this request's URI.
    #[error("the DPoP proof is for another URI")]
    Uri,
    /// `iat` is too old, or in the future.
    #[error("the DPoP proof is too old or from the future")]
    Time,
    /// `ath` is missing, or not the hash of the token presented with it.
    #[error("the DPoP proof's ath is not the hash of this access token")]
    AccessTokenHash,
    /// The proof's key is not the one the token is bound to.
    #[error("the DPoP proof is signed by another key than the token is bound to")]
    KeyMismatch,
    /// The nonce is missing or stale: retry with the one in `DPoP-Nonce`.
    #[error("a fresh server nonce is required: retry with the DPoP-Nonce given")]
    UseNonce,
    /// This proof was used before.
    #[error("the DPoP proof was used before")]
    Replayed,
    /// Too many live proofs are remembered to take another now.
    #[error("too many DPoP proofs in flight: retry shortly")]
    ReplayCacheFull,
    /// A DPoP-bound token presented as a bearer token.
    #[error(
        "this access token is bound to a key: present it as `Authorization: DPoP` with a DPoP proof"
    )]
    BoundToken,
    /// A token without `cnf` presented with the DPoP scheme.
    #[error("this access token is not bound to a key: present it as a bearer token")]
    UnboundToken,
    /// The DPoP scheme without exactly one `DPoP` header.
    #[error("a DPoP request needs exactly one DPoP header")]
    MissingProof,
}

/// The claims of a proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    /// Unique per proof.
    pub jti: String,
    /// The request's method.
    pub htm: String,
    /// The request's URI, without query and fragment.
    pub htu: String,
    /// When it was made, unix seconds.
    pub iat: i64,
    /// The server's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// base64url SHA-256 of the access token sent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
}

/// The `ath` of `access_token`: base64url (no padding) of its SHA-256.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The `htu` of a request URI: scheme and host in lower case, the default port dropped,
/// query and fragment cut; `None` for what is not an absolute `http(s)` URI.
pub fn htu(uri: &str) -> Option<String> {
    let uri = uri.split(['?', '#']).next()?;
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        ("http" | "https", _) => authority,
        _ => return None,
    };
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}{path}"))
}

/// What a proof must match.
#[derive(Clone, Copy, Debug)]
pub struct ProofCheck<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's URI as the client addressed it (query ignored).
    pub uri: &'a str,
    /// Unix seconds.
    pub now: i64,
    /// How old a proof may be.
    pub max_age_secs: i64,
    /// How far a client's clock may run ahead.
    pub skew_secs: i64,
    /// The access token sent with the proof (its `ath` must match); `None` at a token
    /// request (a refresh), where the proof carries no `ath`.
    pub access_token: Option<&'a str>,
    /// The thumbprint the token is bound to (`cnf.jkt`); `None` when any key may sign.
    pub jkt: Option<&'a str>,
    /// The nonce issuer; `None` when no nonce is demanded.
    pub nonces: Option<&'a NonceKey>,
    /// Keys decoded before; `None` decodes every proof's key.
    pub keys: Option<&'a KeyCache>,
}

/// Session keys decoded before, by thumbprint. Decoding a point (Ed25519 or secp256k1) is a
/// good part of a proof's cost, and a session sends the same key with every request. A key
/// is found by the thumbprint of the JWK's members as written ([`SessionKey::thumbprint_of_jwk`]),
/// which equals the thumbprint it was stored under only for the same members: a JWK that
/// would not decode is never found, and is decoded (and refused) as without the cache.
#[derive(Debug)]
pub struct KeyCache {
    capacity: usize,
    keys: std::sync::Mutex<std::collections::HashMap<String, SessionKey>>,
}

impl KeyCache {
    /// A cache of at most `capacity` keys (emptied when full: a session's next proof decodes
    /// its key again).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            keys: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The key of `jwk` and its thumbprint, from the cache or decoded (and then kept).
    fn key_of(&self, jwk: &serde_json::Value) -> Result<(SessionKey, String), DpopError> {
        if jwk.get("d").is_some() {
            return Err(DpopError::PrivateKey);
        }
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(thumbprint) = SessionKey::thumbprint_of_jwk(jwk)
            && let Some(key) = keys.get(&thumbprint)
        {
            return Ok((key.clone(), thumbprint));
        }
        drop(keys);
        let key = SessionKey::from_jwk(jwk)?;
        let thumbprint = key.thumbprint();
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(thumbprint.clone(), key.clone());
        Ok((key, thumbprint))
    }
}

/// A proof that passed [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// Its `jti` (the caller remembers it: [`ReplayCache`]).
    pub jti: String,
    /// Its `iat`.
    pub iat: i64,
    /// Its key's thumbprint.
    pub jkt: String,
}

#[derive(Deserialize)]
struct ProofHeader {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<serde_json::Value>,
}

fn segment<T: for<'de> Deserialize<'de>>(b64: &str, what: &'static str) -> Result<T, DpopError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| DpopError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| DpopError::Malformed(what))
}

/// Checks `proof` against `check` (RFC 9449 §4.3): its form, `typ`, `alg` and key, the
/// signature, method, URI, time, `ath`, the key's thumbprint against the token's and the
/// nonce. The `jti` is the caller's to remember.
///
/// # Errors
/// The first [`DpopError`] found; [`DpopError::UseNonce`] only when everything else held,
/// so a client told to retry with a nonce has nothing else to fix.
pub fn verify(proof: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::Malformed("longer than 4096 bytes"));
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed("not three segments"));
    };
    let header: ProofHeader = segment(h, "header")?;
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(DpopError::Type);
    }
    let jwk = header.jwk.ok_or(DpopError::InvalidKey)?;
    let (key, jkt) = match check.keys {
        Some(cache) => cache.key_of(&jwk)?,
        None => {
            let key = SessionKey::from_jwk(&jwk)?;
            let jkt = key.thumbprint();
            (key, jkt)
        }
    };
    if header.alg.as_deref() != Some(key.alg()) {
        return Err(DpopError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| DpopError::Malformed("signature"))?;
    let signing_input = &proof[..h.len() + 1 + c.len()];
    if !key.verify(signing_input.as_bytes(), &signature) {
        return Err(DpopError::Signature);
    }
    let claims: ProofClaims = segment(c, "claims")?;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(DpopError::Malformed("jti"));
    }
    if claims.htm != check.method {
        return Err(DpopError::Method);
    }
    match (htu(&claims.htu), htu(check.uri)) {
        (Some(theirs), Some(ours)) if theirs == ours => {}
        _ => return Err(DpopError::Uri),
    }
    if claims.iat > check.now + check.skew_secs || claims.iat < check.now - check.max_age_secs {
        return Err(DpopError::Time);
    }
    if let Some(token) = check.access_token {
        let expected = ath(token);
        let matches = claims
            .ath
            .as_deref()
            .is_some_and(|a| bool::from(a.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(DpopError::AccessTokenHash);
        }
    }
    if let Some(bound) = check.jkt
        && !bool::from(bound.as_bytes().ct_eq(jkt.as_bytes()))
    {
        return Err(DpopError::KeyMismatch);
    }
    if let Some(nonces) = check.nonces
        && !claims
            .nonce
            .as_deref()
            .is_some_and(|n| nonces.check(n, check.now))
    {
        return Err(DpopError::UseNonce);
    }
    Ok(VerifiedProof {
        jti: claims.jti,
        iat: claims.iat,
        jkt,
    })
}

impl SessionSigner {
    /// A proof with `claims`, signed by this key (header `typ`, `alg` and the public `jwk`).
    pub fn proof(&self, claims: &ProofClaims) -> String {
        let public = self.public();
        let header = serde_json::json!({
            "typ": PROOF_TYPE,
            "alg": public.alg(),
            "jwk": public.to_jwk(),
        });
        // Serialising a `Value` and a struct of strings and integers cannot fail.
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{claims}");
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

#[cfg(test)]
mod tests;
