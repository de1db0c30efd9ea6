//! Offline verification of one token, without I/O: the header is decided on first (size,
//! shape, `alg`, `typ`), then the caller looks up the key named by `kid`, then the signature
//! and claims are checked against the caller's `now`.
//!
//! Deciding `alg` from our own parse of the header, before any key is chosen, is what shuts
//! out `alg: none` and HMAC-keyed-with-the-public-key confusion: only `EdDSA` reaches a key.
//! The signature and claims are then core's [`jws`] step, with the key decoded once per key
//! set rather than per token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use portcullis_core::token::{AccessClaims, TokenError, jws};
use serde::Deserialize;

use crate::GuardError;

/// Longest token we look at (8 KiB); anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest header segment we decode; ours is well under 200 bytes.
const MAX_HEADER_SEGMENT: usize = 1024;

/// What a token must match besides its signature.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expect<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) leeway_secs: i64,
}

/// The header members we decide on.
#[derive(Deserialize)]
struct RawHeader {
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

/// Checks size, shape, `alg` and `typ`, and returns the `kid` to look up.
pub(crate) fn parse_header(token: &str) -> Result<String, GuardError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(GuardError::Oversized);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(GuardError::Malformed);
    };
    if header.is_empty() || payload.is_empty() || header.len() > MAX_HEADER_SEGMENT {
        return Err(GuardError::Malformed);
    }
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| GuardError::Malformed)?;
    let header: RawHeader = serde_json::from_slice(&json).map_err(|_| GuardError::Malformed)?;
    if header.alg.eq_ignore_ascii_case("none") {
        return Err(GuardError::AlgNone);
    }
    if header.alg != "EdDSA" {
        return Err(GuardError::UnsupportedAlgorithm);
    }
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok || header.crit {
        return Err(GuardError::WrongType);
    }
    header.kid.ok_or(GuardError::UnknownKey)
}

/// Verifies the signature with `key`, then checks the claims against `now`.
pub(crate) fn check_token(
    token: &str,
    key: &VerifyingKey,
    expect: &Expect<'_>,
    now: i64,
) -> Result<AccessClaims, GuardError> {
    // Core's own step, so the guard and the issuer's verifier agree on every token.
    let claims = jws::verify_claims(token, key).map_err(|e| match e {
        TokenError::BadSignature => GuardError::BadSignature,
        _ => GuardError::Malformed,
    })?;
    check_claims(&claims, expect, now)?;
    Ok(claims)
}

/// Issuer, audience and the validity window `nbf - leeway <= now < exp + leeway`.
pub(crate) fn check_claims(
    claims: &AccessClaims,
    expect: &Expect<'_>,
    now: i64,
) -> Result<(), GuardError> {
    if claims.iss != expect.issuer {
        return Err(GuardError::WrongIssuer);
    }
    if claims.aud != expect.audience {
        return Err(GuardError::WrongAudience);
    }
    check_window(claims, expect.leeway_secs, now)
}

/// The validity window alone (what a cached token is re-checked against).
pub(crate) fn check_window(
    claims: &AccessClaims,
    leeway_secs: i64,
    now: i64,
) -> Result<(), GuardError> {
    let leeway = leeway_secs.max(0);
    if now >= claims.exp.saturating_add(leeway) {
        return Err(GuardError::Expired);
    }
    if now < claims.nbf.saturating_sub(leeway) {
        return Err(GuardError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
