//! The harness shared by the fuzz targets in `fuzz_targets/`.
//!
//! [`fixture`] builds, once per process, what a resource server has: an issuer key set (a
//! retired key that is still published plus the active one), a real [`Guard`] that fetched
//! that key set as JWKS from a loopback HTTP server at start-up (and never fetches again: the
//! refresh intervals are a year long), a fixed clock, and base tokens of every kind (good,
//! expired, wrong audience, foreign key, `alg: none`, HMAC keyed with the public key, ...).
//!
//! [`check`] feeds one token to both verifiers, the guard's [`Guard::verify`] and core's
//! [`TokenKeys::verify`], and asserts what must hold whatever the token is:
//!
//! - neither panics (the fuzzer reports a panic as a crash);
//! - an accepted token carries our `iss` and `aud`, is inside its validity window, has an
//!   `EdDSA`/`at+jwt` header naming a published key, a signature that this key really made
//!   over the token's first two segments (checked again here with ed25519-dalek), and the
//!   claims of its payload;
//! - the guard never accepts what core refuses, and both give the same reason for a refusal
//!   (both take core's header parse and claim checks, but `TokenKeys::verify` folds `alg:
//!   none` into "unsupported algorithm" and `typ`/`crit` into "malformed"); an empty segment
//!   or a header segment over 1 KiB is refused as malformed;
//! - over 8 KiB is refused before anything is decoded (guard: `Oversized`, core: `Malformed`);
//! - a refusal is always the token's fault (401 `invalid_token`), never "unavailable" (503);
//! - asking the guard twice (the second answer comes from its verified-token cache) gives
//!   the same answer.
//!
//! [`check_header`] does the same for a raw `Authorization` header through
//! [`Guard::authorize`], and [`Mutation`] is the structure-aware input of `token_mutate`:
//! edits applied to a valid token, including re-signing with the real key so that the
//! header and claim checks are fuzzed behind a good signature.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac as _};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, StatusCode};
use portcullis_core::token::{AccessClaims, Expectation, TokenError, TokenKeys};
use portcullis_guard::{Guard, GuardConfig, GuardError, MAX_TOKEN_BYTES, Rejection, Requirement};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The issuer every accepted token must name.
pub const ISS: &str = "https://auth.example";
/// The audience every accepted token must name.
pub const AUD: &str = "https://ledger.example";
/// The fixed "now" of both verifiers, unix seconds.
pub const NOW: i64 = 1_800_000_000;
/// Leeway on `exp` / `nbf`, seconds (the guard's default).
pub const LEEWAY: i64 = 30;
/// A header segment longer than this is refused as malformed.
const GUARD_MAX_HEADER_SEGMENT: usize = 1024;
/// Byte edits stop growing a mutated token past this.
const MAX_MUTATED_LEN: usize = 2 * MAX_TOKEN_BYTES + 256;
/// Most edits applied from one input.
const MAX_EDITS: usize = 64;

const RETIRED_SEED: [u8; 32] = [0x52; 32];
const ACTIVE_SEED: [u8; 32] = [0x51; 32];
const FOREIGN_SEED: [u8; 32] = [0x53; 32];
pub mod config;
pub mod console;
mod fixture;
pub mod forward_auth;
pub mod login;
mod mutation;

use fixture::*;
pub use fixture::{Fixture, fixture};
pub use mutation::*;

/// Whether `PORTCULLIS_FUZZ_TRACE` is set: then [`check`] prints both verdicts (and the other
/// targets what they accepted or refused), e.g. when replaying a corpus file
/// (`fuzz/target/.../token_verify FILE`).
pub(crate) fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("PORTCULLIS_FUZZ_TRACE").is_some())
}

/// Core's reason for the refusal the guard gave, where the two must agree.
fn core_reason(err: &GuardError) -> TokenError {
    match err {
        GuardError::Oversized | GuardError::Malformed | GuardError::WrongType => {
            TokenError::Malformed
        }
        GuardError::AlgNone | GuardError::UnsupportedAlgorithm => TokenError::UnsupportedAlgorithm,
        GuardError::UnknownKey => TokenError::UnknownKey,
        GuardError::BadSignature => TokenError::BadSignature,
        GuardError::Expired => TokenError::Expired,
        GuardError::NotYetValid => TokenError::NotYetValid,
        GuardError::WrongIssuer => TokenError::WrongIssuer,
        GuardError::WrongAudience => TokenError::WrongAudience,
        other => panic!("a token was refused with a non-token error: {other:?}"),
    }
}

/// Whether the header-shape bounds refuse `token`: an empty header or payload segment, or a
/// header segment over 1 KiB.
fn guard_stricter(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && (parts[0].is_empty() || parts[1].is_empty() || parts[0].len() > GUARD_MAX_HEADER_SEGMENT)
}

/// Everything that must be true of a token that was accepted with `claims`.
fn assert_legitimately_accepted(f: &Fixture, token: &str, claims: &AccessClaims, by: &str) {
    assert_eq!(
        claims.iss, ISS,
        "{by} accepted a token with a foreign issuer"
    );
    assert_eq!(
        claims.aud, AUD,
        "{by} accepted a token for another audience"
    );
    assert!(
        NOW < claims.exp.saturating_add(LEEWAY),
        "{by} accepted an expired token (exp {})",
        claims.exp
    );
    assert!(
        NOW >= claims.nbf.saturating_sub(LEEWAY),
        "{by} accepted a token before its nbf ({})",
        claims.nbf
    );
    assert!(
        token.len() <= MAX_TOKEN_BYTES,
        "{by} accepted an oversized token"
    );
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        parts.len(),
        3,
        "{by} accepted a token without three segments"
    );
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[0])
            .expect("accepted header is base64url"),
    )
    .expect("accepted header is JSON");
    assert_eq!(
        header["alg"], "EdDSA",
        "{by} accepted alg {}",
        header["alg"]
    );
    let typ = header["typ"].as_str().unwrap_or_default();
    assert!(
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"),
        "{by} accepted typ {typ:?}"
    );
    // No critical extension is understood, so an accepted header has no `crit` at all (not
    // even `null`, which this fuzzer once found accepted).
    assert!(header.get("crit").is_none(), "{by} accepted a crit header");
    let kid = header["kid"]
        .as_str()
        .expect("accepted header has a string kid");
    let key = f
        .published
        .get(kid)
        .unwrap_or_else(|| panic!("{by} accepted an unpublished kid {kid:?}"));
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(parts[2])
        .expect("accepted signature is base64url")
        .try_into()
        .expect("accepted signature is 64 bytes");
    let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
    key.verify(signing_input.as_bytes(), &Signature::from_bytes(&sig))
        .unwrap_or_else(|e| panic!("{by} accepted a token our key did not sign: {e}"));
    let payload: AccessClaims = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("accepted payload is base64url"),
    )
    .expect("accepted payload is claims");
    assert_eq!(
        &payload, claims,
        "{by} returned claims other than the signed ones"
    );
}

/// Verifies `token` with the guard (twice) and with core, and asserts the properties listed
/// in the module documentation.
pub fn check(token: &str) {
    let f = fixture();
    let expect = Expectation {
        issuer: ISS,
        audience: AUD,
        leeway_secs: LEEWAY,
    };
    let core = f.keys.verify(token, &expect, NOW);
    let guard =
        f.rt.block_on(f.guard.verify(token))
            .map(|v| v.claims().clone());
    let cached =
        f.rt.block_on(f.guard.verify(token))
            .map(|v| v.claims().clone());
    assert_eq!(guard, cached, "asking the guard again changed its answer");
    if trace() {
        eprintln!("guard: {guard:?}\ncore:  {core:?}");
    }

    if token.len() > MAX_TOKEN_BYTES {
        assert_eq!(guard, Err(GuardError::Oversized), "oversized token");
        assert_eq!(core, Err(TokenError::Malformed), "oversized token (core)");
        return;
    }
    if let Ok(claims) = &core {
        assert_legitimately_accepted(f, token, claims, "core");
    }
    match &guard {
        Ok(claims) => {
            assert_legitimately_accepted(f, token, claims, "the guard");
            assert_eq!(
                core.as_ref(),
                Ok(claims),
                "the guard accepted what core refused"
            );
        }
        Err(err) => {
            assert!(
                !err.is_unavailable(),
                "a token made the guard unavailable: {err:?}"
            );
            let rejection = Rejection::InvalidToken(err.clone());
            assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
            let challenge = rejection.www_authenticate().unwrap_or_default();
            assert!(challenge.starts_with("Bearer error=\"invalid_token\""));
            if guard_stricter(token) {
                assert_eq!(
                    *err,
                    GuardError::Malformed,
                    "an empty or over-long header segment must be refused as malformed"
                );
            } else {
                assert_eq!(
                    core,
                    Err(core_reason(err)),
                    "core and the guard disagree on why (guard: {err:?})"
                );
            }
        }
    }
}

/// Sends a raw `Authorization` header value through [`Guard::authorize`]: a request is let
/// through only with a bearer token the guard accepts, and refused with 401 otherwise.
pub fn check_header(value: &[u8]) {
    let f = fixture();
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value.clone());
    let outcome =
        f.rt.block_on(
            f.guard
                .authorize("GET", "/", &headers, &Requirement::authenticated()),
        );
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match outcome {
        Ok(verified) => {
            let token = token.expect("a request without a bearer token was let through");
            let again = f.rt.block_on(f.guard.verify(token));
            assert_eq!(
                again.as_ref(),
                Ok(&verified),
                "authorize and verify disagree"
            );
            assert_legitimately_accepted(f, token, verified.claims(), "authorize");
        }
        Err(rejection) => {
            assert_eq!(
                rejection.status(),
                StatusCode::UNAUTHORIZED,
                "refused with {rejection:?}"
            );
            assert!(
                // A token of the fixture is never DPoP-bound, so under the DPoP scheme it
                // is refused as such.
                matches!(
                    rejection,
                    Rejection::MissingToken | Rejection::InvalidToken(_) | Rejection::Dpop { .. }
                ),
                "refused with {rejection:?}"
            );
        }
    }
}

// ------------------------------------------------------------- token_mutate ----
