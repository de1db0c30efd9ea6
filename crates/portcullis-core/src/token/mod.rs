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
//! - jsonwebtoken signs; verifying is three steps that every verifier of ours shares (core's
//!   [`TokenKeys::verify`] and the guard crate, which finds its keys in a fetched JWKS):
//!   [`Header::parse`] decides the header by our own parse, the caller looks up the key its
//!   `kid` names, and [`verify_with_key`] checks the signature ([`jws`], with a key decoded
//!   once per key) and the claims ([`Expectation::check`]) against the caller's `now` (time
//!   is a parameter, never the system clock);
//! - keys come from caller-supplied 32-byte seeds, as this crate has no randomness of its own.
//!
//! Errors never carry token text or key material, so they are safe to log.

mod claims;
pub mod dpop;
mod header;
mod jwks;
pub mod jws;
mod keys;
pub mod requirement;
#[cfg(test)]
mod tests;

use ed25519_dalek::VerifyingKey;
use jsonwebtoken::Algorithm;

pub use claims::{AccessClaims, Confirmation, Expectation};
pub use header::{Header, check_length};
pub use jwks::{Jwk, Jwks};
pub use keys::{KeyRecord, TokenKeys};
pub use requirement::{Requirement, Shortfall};

/// Longest token we parse (8 KiB); anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` header of our access tokens (RFC 9068 §2.1).
const TOKEN_TYPE: &str = "at+jwt";

/// Why a token could not be signed or was refused, or why a key file could not be loaded.
///
/// [`Header::parse`] tells apart every refusal a resource server reports;
/// [`TokenKeys::verify`] folds three of them into coarser ones, as it always has (see there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`]; refused before any decoding.
    #[error("token is too large")]
    Oversized,
    /// Not a well-formed JWS compact token of ours.
    #[error("token is malformed")]
    Malformed,
    /// The header says `alg: none` (in any case): an unsigned token.
    #[error("unsigned tokens (alg none) are refused")]
    AlgNone,
    /// The header names an algorithm other than `EdDSA` (HMAC, RSA, ECDSA …).
    #[error("token algorithm is not supported")]
    UnsupportedAlgorithm,
    /// The `typ` header is not `at+jwt` (RFC 9068), or a `crit` header is present.
    #[error("token is not an access token")]
    WrongType,
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

impl TokenError {
    /// The reason [`TokenKeys::verify`] reports: it has always answered `alg: none` as an
    /// unsupported algorithm, and an over-long token or a wrong `typ`/`crit` as malformed.
    fn folded(self) -> Self {
        match self {
            Self::AlgNone => Self::UnsupportedAlgorithm,
            Self::Oversized | Self::WrongType => Self::Malformed,
            other => other,
        }
    }
}

/// Verifies the signature of `token` with `key`, then its claims against `expect` at `now`:
/// the steps after [`Header::parse`] and the look-up of the key its `kid` names.
///
/// # Errors
/// [`TokenError::Malformed`] or [`TokenError::BadSignature`] from [`jws::verify_claims`],
/// then the refusals of [`Expectation::check`].
pub fn verify_with_key(
    token: &str,
    key: &VerifyingKey,
    expect: &Expectation<'_>,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let claims = jws::verify_claims(token, key)?;
    expect.check(&claims, now)?;
    Ok(claims)
}

impl TokenKeys {
    /// Signs `claims` with the active key. The header is `{"typ":"at+jwt","alg":"EdDSA",
    /// "kid":<active kid>}`.
    ///
    /// # Errors
    /// [`TokenError::Signing`] if signing fails or the token would exceed
    /// [`MAX_TOKEN_BYTES`] (so could never verify).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.active_kid.clone());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Signing("token exceeds 8 KiB".to_owned()));
        }
        Ok(token)
    }

    /// Signs `payload` as a JWS of type `typ` with the active key: the server's own
    /// statements that are not access tokens (a presence challenge). `typ` may not be the
    /// access tokens' own, so no statement verifies as an access token.
    ///
    /// # Errors
    /// [`TokenError::Signing`] for the access tokens' `typ` or a failed signature.
    pub fn sign_statement<T: serde::Serialize>(
        &self,
        typ: &str,
        payload: &T,
    ) -> Result<String, TokenError> {
        if typ.eq_ignore_ascii_case(TOKEN_TYPE) {
            return Err(TokenError::Signing(
                "a statement cannot have the access token type".to_owned(),
            ));
        }
        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, payload, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Verifies an access token and returns its claims.
    ///
    /// In order: length (at most [`MAX_TOKEN_BYTES`]), header shape, `alg` (`EdDSA` only) and
    /// `typ` (`at+jwt`, no `crit`) by [`Header::parse`], `kid` (in the set), then signature,
    /// `iss`, `aud`, `exp` and `nbf` against `now` with `expect.leeway_secs` by
    /// [`verify_with_key`].
    ///
    /// # Errors
    /// The first failed check, as a [`TokenError`], with `alg: none` reported as
    /// [`TokenError::UnsupportedAlgorithm`] and an over-long token or a wrong `typ`/`crit` as
    /// [`TokenError::Malformed`]; never [`TokenError::Signing`] or
    /// [`TokenError::InvalidKeyFile`].
    pub fn verify(
        &self,
        token: &str,
        expect: &Expectation<'_>,
        now: i64,
    ) -> Result<AccessClaims, TokenError> {
        let header = Header::parse(token).map_err(TokenError::folded)?;
        let key = self
            .published
            .get(header.kid())
            .ok_or(TokenError::UnknownKey)?;
        verify_with_key(token, &key.verifying, expect, now)
    }
}
