//! Access tokens: signing and verifying JWTs with Ed25519 (`EdDSA`), the rotating key set that
//! signs them, and the JWKS that publishes it.
//!
//! Access tokens are short-lived, self-contained JWTs (RFC 9068 profile, `typ: at+jwt`) so
//! resource servers can check them offline against our JWKS. This module owns the whole token
//! format, so the rules live in one place:
//!
//! - only `EdDSA` is accepted; the algorithm is checked before any key is chosen, which shuts
//!   out `alg: none` and HMAC-with-the-public-key confusion;
//! - a key is chosen by its `kid` (the RFC 7638 thumbprint), so after a rotation tokens signed
//!   by the previous key keep verifying until it is pruned;
//! - jsonwebtoken signs; verifying is [`jws`]: the header is decided by our own parse, the
//!   signature checked with a key decoded once per key, and the claims checked against the
//!   caller's `now` (time is a parameter, never the system clock);
//! - keys come from caller-supplied 32-byte seeds, as this crate has no randomness of its own.
//!
//! Errors never carry token text or key material, so they are safe to log.

mod claims;
mod jwks;
pub mod jws;
mod keys;
#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::Deserialize;

pub use claims::{AccessClaims, Expectation};
pub use jwks::{Jwk, Jwks};
pub use keys::{KeyRecord, TokenKeys};

/// Longest token we parse (8 KiB); anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` header of our access tokens (RFC 9068 §2.1).
const TOKEN_TYPE: &str = "at+jwt";

/// Why a token could not be signed or was refused, or why a key file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed JWS compact token of ours (including over-long input).
    #[error("token is malformed")]
    Malformed,
    /// The header names an algorithm other than `EdDSA`.
    #[error("token algorithm is not supported")]
    UnsupportedAlgorithm,
    /// No `kid`, or a `kid` that is not in the key set.
    #[error("token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` has passed, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is still ahead, beyond the leeway.
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A token or key could not be produced.
    #[error("cannot sign token: {0}")]
    Signing(String),
    /// The persisted key set is unusable.
    #[error("invalid key file: {0}")]
    InvalidKeyFile(String),
}

/// The header members we decide on before the signature is checked.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    /// We understand no critical extension (RFC 7515 §4.1.11), so any `crit` is refused,
    /// `null` included (RFC 7515 wants an array there; found by the fuzzer).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True whenever the field is present, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// Decodes the protected header of a compact JWS with exactly three parts.
fn peek_header(token: &str) -> Result<PeekedHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

impl TokenKeys {
    /// Signs `claims` with the active key. The header is `{"typ":"at+jwt","alg":"EdDSA",
    /// "kid":<active kid>}`.
    ///
    /// # Errors
    /// [`TokenError::Signing`] if signing fails or the token would exceed
    /// [`MAX_TOKEN_BYTES`] (so could never verify).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.active_kid.clone());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Signing("token exceeds 8 KiB".to_owned()));
        }
        Ok(token)
    }

    /// Verifies an access token and returns its claims.
    ///
    /// In order: length (at most [`MAX_TOKEN_BYTES`]), header shape and `typ` (`at+jwt`),
    /// `alg` (`EdDSA` only), `kid` (in the set), signature, then `iss`, `aud`, `exp` and `nbf`
    /// against `now` with `expect.leeway_secs`.
    ///
    /// # Errors
    /// The first failed check, as a [`TokenError`]; never [`TokenError::Signing`] or
    /// [`TokenError::InvalidKeyFile`].
    pub fn verify(
        &self,
        token: &str,
        expect: &Expectation<'_>,
        now: i64,
    ) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let header = peek_header(token)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok || header.crit {
            return Err(TokenError::Malformed);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.published.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let claims = jws::verify_claims(token, &key.verifying)?;
        claims::check(&claims, expect, now)?;
        Ok(claims)
    }
}
