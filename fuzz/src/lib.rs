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

/// What every check runs against; built once per process by [`fixture`].
pub struct Fixture {
    /// The issuer's key set: the retired key, still published, and the active key.
    pub keys: TokenKeys,
    guard: Guard,
    rt: tokio::runtime::Runtime,
    /// Published keys by `kid`, for the independent signature check.
    published: HashMap<String, VerifyingKey>,
    active: SigningKey,
    retired: SigningKey,
    foreign: SigningKey,
    active_kid: String,
    retired_kid: String,
    foreign_kid: String,
    /// The active key's JWK `x` (base64url), what an HMAC key-confusion attack would use.
    active_x: String,
    /// Base tokens of every kind, by name; `token_mutate` edits one of them.
    pub bases: Vec<(&'static str, String)>,
}

/// The process-wide fixture.
///
/// # Panics
/// If it cannot be built (no loopback socket, the guard cannot fetch the key set): that is
/// a broken harness, not a finding.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.to_owned(),
        sub: "acct_1".to_owned(),
        aud: AUD.to_owned(),
        exp: NOW + 300,
        iat: NOW,
        nbf: NOW,
        jti: "tok_1".to_owned(),
        sid: "sess_1".to_owned(),
        acr: "aal2".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        roles: vec!["client".to_owned()],
        auth_time: NOW - 10,
        scope: None,
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn header_json(alg: &str, kid: &str) -> String {
    format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}"}}"#)
}

fn signing_input(header: &str, claims: &AccessClaims) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    format!("{}.{}", b64(header), b64(payload))
}

fn ed25519_token(key: &SigningKey, header: &str, claims: &AccessClaims) -> String {
    let input = signing_input(header, claims);
    let sig = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(sig))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Serves `body` as `application/json` to every HTTP request on a loopback port, from a
/// detached thread; returns the URL.
fn serve_jwks(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut line = String::new();
            // Read the request head, up to the blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/.well-known/jwks.json")
}

fn build_fixture() -> Fixture {
    let mut keys = TokenKeys::generate(RETIRED_SEED, NOW - 3600).expect("retired key");
    let retired_kid = keys.active_kid().to_owned();
    keys.rotate(ACTIVE_SEED, NOW - 600).expect("rotate");
    let active_kid = keys.active_kid().to_owned();
    let foreign_kid = TokenKeys::generate(FOREIGN_SEED, NOW)
        .expect("foreign key")
        .active_kid()
        .to_owned();
    let jwks = keys.jwks();
    assert_eq!(jwks.keys.len(), 2, "retired and active keys are published");

    let published: HashMap<String, VerifyingKey> = jwks
        .keys
        .iter()
        .map(|jwk| {
            let x: [u8; 32] = URL_SAFE_NO_PAD
                .decode(&jwk.x)
                .expect("x is base64url")
                .try_into()
                .expect("x is 32 bytes");
            let key = VerifyingKey::from_bytes(&x).expect("x is a point");
            (jwk.kid.clone(), key)
        })
        .collect();
    let active_x = jwks
        .keys
        .iter()
        .find(|k| k.kid == active_kid)
        .expect("active key published")
        .x
        .clone();

    let url = serve_jwks(serde_json::to_string(&jwks).expect("JWKS serializes"));
    // The key set is fetched once below; unknown kids and age never trigger another fetch.
    let config = GuardConfig::builder(ISS, AUD, url)
        .leeway(Duration::from_secs(LEEWAY.unsigned_abs()))
        .min_refresh_interval(Duration::from_secs(365 * 24 * 3600))
        .refresh_interval(Duration::from_secs(365 * 24 * 3600))
        .cache_capacity(512)
        .build();
    let guard = Guard::new(config).expect("guard").with_clock(|| NOW);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(guard.jwks().refresh())
        .expect("the guard fetches the JWKS from the loopback server");
    let mut held = guard.jwks().kids();
    held.sort();
    let mut want: Vec<String> = published.keys().cloned().collect();
    want.sort();
    assert_eq!(held, want, "the guard holds exactly the published keys");

    let active = SigningKey::from_bytes(&ACTIVE_SEED);
    let retired = SigningKey::from_bytes(&RETIRED_SEED);
    let foreign = SigningKey::from_bytes(&FOREIGN_SEED);
    let good = |c: AccessClaims| keys.sign(&c).expect("sign");
    let active_header = header_json("EdDSA", &active_kid);
    let none_header = header_json("none", &active_kid);
    let hs_header = header_json("HS256", &active_kid);
    let hs_input = signing_input(&hs_header, &claims());
    let bases = vec![
        ("valid", good(claims())),
        (
            "valid_retired_key",
            ed25519_token(&retired, &header_json("EdDSA", &retired_kid), &claims()),
        ),
        (
            "expired",
            good(AccessClaims {
                exp: NOW - LEEWAY - 1,
                ..claims()
            }),
        ),
        (
            "not_yet_valid",
            good(AccessClaims {
                nbf: NOW + LEEWAY + 1,
                ..claims()
            }),
        ),
        (
            "wrong_audience",
            good(AccessClaims {
                aud: "https://other.example".to_owned(),
                ..claims()
            }),
        ),
        (
            "wrong_issuer",
            good(AccessClaims {
                iss: "https://evil.example".to_owned(),
                ..claims()
            }),
        ),
        (
            "foreign_key",
            ed25519_token(&foreign, &header_json("EdDSA", &foreign_kid), &claims()),
        ),
        (
            "bad_signature",
            ed25519_token(&foreign, &active_header, &claims()),
        ),
        (
            "alg_none",
            format!("{}.", signing_input(&none_header, &claims())),
        ),
        (
            "hs256_public_key",
            format!(
                "{hs_input}.{}",
                b64(hmac_sha256(active_x.as_bytes(), hs_input.as_bytes()))
            ),
        ),
        (
            "service_account",
            good(AccessClaims {
                roles: vec![],
                amr: vec![],
                scope: Some("ledger:read ledger:write".to_owned()),
                ..claims()
            }),
        ),
        (
            "extreme_window",
            good(AccessClaims {
                exp: i64::MAX,
                nbf: i64::MIN,
                iat: i64::MIN,
                auth_time: i64::MAX,
                ..claims()
            }),
        ),
    ];

    Fixture {
        keys,
        guard,
        rt,
        published,
        active,
        retired,
        foreign,
        active_kid,
        retired_kid,
        foreign_kid,
        active_x,
        bases,
    }
}

/// Whether `PORTCULLIS_FUZZ_TRACE` is set: then [`check`] prints both verdicts, e.g. when
/// replaying a corpus file (`fuzz/target/.../token_verify FILE`).
fn trace() -> bool {
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
    assert!(
        header.get("crit").is_none(),
        "{by} accepted a crit header"
    );
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
        f.rt.block_on(f.guard.authorize(&headers, &Requirement::authenticated()));
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
                matches!(
                    rejection,
                    Rejection::MissingToken | Rejection::InvalidToken(_)
                ),
                "refused with {rejection:?}"
            );
        }
    }
}

// ------------------------------------------------------------- token_mutate ----

/// The input of `token_mutate`: one base token and the edits to make to it.
#[derive(Arbitrary, Debug)]
pub struct Mutation {
    base: u8,
    edits: Vec<Edit>,
}

/// One edit of a token; byte offsets wrap around the current length.
#[derive(Arbitrary, Debug)]
pub enum Edit {
    /// Overwrite one byte.
    Overwrite { at: u16, byte: u8 },
    /// Flip one bit.
    FlipBit { at: u16, bit: u8 },
    /// Insert bytes.
    Insert { at: u16, bytes: Vec<u8> },
    /// Remove up to `len` bytes.
    Remove { at: u16, len: u8 },
    /// Cut the token short.
    Truncate { at: u16 },
    /// Append `len` base64url characters to a segment (to cross the size bounds).
    Pad { segment: Segment, len: u16 },
    /// Replace a segment's text.
    SetSegment { segment: Segment, text: String },
    /// Replace the decoded header or payload with arbitrary text.
    SetDecoded { segment: Segment, text: String },
    /// Set a member of the decoded header object.
    SetHeader { name: HeaderName, value: Json },
    /// Remove a member of the decoded header object.
    RemoveHeader { name: HeaderName },
    /// Set a claim of the decoded payload object.
    SetClaim { name: ClaimName, value: Json },
    /// Remove a claim.
    RemoveClaim { name: ClaimName },
    /// Swap two segments.
    Swap { a: Segment, b: Segment },
    /// Re-sign the first two segments, as they are now.
    Sign { signer: SignWith },
}

/// A segment of a compact JWS.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Segment {
    Header,
    Payload,
    Signature,
    /// A fourth segment (compact JWS has three).
    Extra,
}

impl Segment {
    fn index(self) -> usize {
        match self {
            Self::Header => 0,
            Self::Payload => 1,
            Self::Signature => 2,
            Self::Extra => 3,
        }
    }
}

/// Header members worth setting.
#[derive(Arbitrary, Debug)]
pub enum HeaderName {
    Alg,
    Typ,
    Kid,
    Crit,
    Jku,
    Jwk,
    X5u,
    X5c,
    Cty,
    B64,
    Other(String),
}

impl HeaderName {
    fn name(&self) -> &str {
        match self {
            Self::Alg => "alg",
            Self::Typ => "typ",
            Self::Kid => "kid",
            Self::Crit => "crit",
            Self::Jku => "jku",
            Self::Jwk => "jwk",
            Self::X5u => "x5u",
            Self::X5c => "x5c",
            Self::Cty => "cty",
            Self::B64 => "b64",
            Self::Other(name) => name,
        }
    }
}

/// Claims worth setting.
#[derive(Arbitrary, Debug)]
pub enum ClaimName {
    Iss,
    Sub,
    Aud,
    Exp,
    Iat,
    Nbf,
    Jti,
    Sid,
    Acr,
    Amr,
    Roles,
    AuthTime,
    Scope,
    Other(String),
}

impl ClaimName {
    fn name(&self) -> &str {
        match self {
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Iat => "iat",
            Self::Nbf => "nbf",
            Self::Jti => "jti",
            Self::Sid => "sid",
            Self::Acr => "acr",
            Self::Amr => "amr",
            Self::Roles => "roles",
            Self::AuthTime => "auth_time",
            Self::Scope => "scope",
            Self::Other(name) => name,
        }
    }
}

/// A JSON value, with the strings and numbers a random one would hardly hit.
#[derive(Arbitrary, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// `NOW + delta`: around the validity window and its leeway.
    NearNow(i16),
    Str(String),
    Known(Known),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Strings a verifier decides on.
#[derive(Arbitrary, Debug)]
pub enum Known {
    EdDsa,
    None,
    NoneUpper,
    Hs256,
    Rs256,
    Es256,
    AtJwt,
    AppAtJwt,
    Jwt,
    ActiveKid,
    RetiredKid,
    ForeignKid,
    Issuer,
    Audience,
}

impl Json {
    fn to_value(&self, f: &Fixture, depth: usize) -> Value {
        if depth > 8 {
            return Value::Null;
        }
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::UInt(u) => Value::from(*u),
            Self::Float(x) => Value::from(*x),
            Self::NearNow(d) => Value::from(NOW + i64::from(*d)),
            Self::Str(s) => Value::from(s.as_str()),
            Self::Known(k) => Value::from(match k {
                Known::EdDsa => "EdDSA",
                Known::None => "none",
                Known::NoneUpper => "NONE",
                Known::Hs256 => "HS256",
                Known::Rs256 => "RS256",
                Known::Es256 => "ES256",
                Known::AtJwt => "at+jwt",
                Known::AppAtJwt => "application/at+jwt",
                Known::Jwt => "JWT",
                Known::ActiveKid => f.active_kid.as_str(),
                Known::RetiredKid => f.retired_kid.as_str(),
                Known::ForeignKid => f.foreign_kid.as_str(),
                Known::Issuer => ISS,
                Known::Audience => AUD,
            }),
            Self::Array(items) => {
                Value::Array(items.iter().map(|j| j.to_value(f, depth + 1)).collect())
            }
            Self::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, j)| (k.clone(), j.to_value(f, depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Who signs the first two segments in [`Edit::Sign`].
#[derive(Arbitrary, Debug)]
pub enum SignWith {
    /// The active key: a genuine signature over whatever the segments now say.
    Active,
    /// The retired key, still published.
    Retired,
    /// A key that is not published.
    Foreign,
    /// HMAC-SHA256 keyed with the active public key (`x` as text, or its 32 raw bytes).
    HmacWithPublicKey { raw: bool },
    /// No signature at all (`header.payload.`).
    Unsigned,
    /// These bytes as the signature.
    Bytes(Vec<u8>),
}

fn wrap(at: u16, len: usize) -> usize {
    usize::from(at) % (len + 1)
}

fn split(token: &[u8]) -> Vec<Vec<u8>> {
    token.split(|&b| b == b'.').map(<[u8]>::to_vec).collect()
}

fn join(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&b'.')
}

/// The decoded JSON object of a segment; anything else becomes an empty object.
fn decoded_object(segment: &[u8]) -> Map<String, Value> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

fn encode_object(map: Map<String, Value>) -> Vec<u8> {
    let json = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    b64(json).into_bytes()
}

impl Mutation {
    /// The token this input stands for.
    pub fn apply(&self, f: &Fixture) -> String {
        let base = &f.bases[usize::from(self.base) % f.bases.len()].1;
        let mut token = base.as_bytes().to_vec();
        for edit in self.edits.iter().take(MAX_EDITS) {
            edit.apply(f, &mut token);
            token.truncate(MAX_MUTATED_LEN);
        }
        String::from_utf8_lossy(&token).into_owned()
    }
}

impl Edit {
    fn apply(&self, f: &Fixture, token: &mut Vec<u8>) {
        let len = token.len();
        match self {
            Self::Overwrite { at, byte } => {
                if len > 0 {
                    token[usize::from(*at) % len] = *byte;
                }
            }
            Self::FlipBit { at, bit } => {
                if len > 0 {
                    token[usize::from(*at) % len] ^= 1 << (bit % 8);
                }
            }
            Self::Insert { at, bytes } => {
                let at = wrap(*at, len);
                token.splice(at..at, bytes.iter().copied());
            }
            Self::Remove { at, len: n } => {
                let at = wrap(*at, len);
                let end = (at + usize::from(*n)).min(len);
                token.drain(at..end);
            }
            Self::Truncate { at } => token.truncate(wrap(*at, len)),
            Self::Pad { segment, len: n } => {
                let mut parts = split(token);
                let i = segment.index();
                parts.resize(parts.len().max(i + 1), Vec::new());
                let n = usize::from(*n).min(MAX_MUTATED_LEN);
                parts[i].extend(std::iter::repeat_n(b'A', n));
                *token = join(&parts);
            }
            Self::SetSegment { segment, text } => {
                set_segment(token, *segment, text.as_bytes().to_vec());
            }
            Self::SetDecoded { segment, text } => {
                set_segment(token, *segment, b64(text).into_bytes());
            }
            Self::SetHeader { name, value } => {
                edit_object(token, Segment::Header, |map| {
                    map.insert(name.name().to_owned(), value.to_value(f, 0));
                });
            }
            Self::RemoveHeader { name } => {
                edit_object(token, Segment::Header, |map| {
                    map.remove(name.name());
                });
            }
            Self::SetClaim { name, value } => {
                edit_object(token, Segment::Payload, |map| {
                    map.insert(name.name().to_owned(), value.to_value(f, 0));
                });
            }
            Self::RemoveClaim { name } => {
                edit_object(token, Segment::Payload, |map| {
                    map.remove(name.name());
                });
            }
            Self::Swap { a, b } => {
                let mut parts = split(token);
                let (a, b) = (a.index(), b.index());
                parts.resize(parts.len().max(a.max(b) + 1), Vec::new());
                parts.swap(a, b);
                *token = join(&parts);
            }
            Self::Sign { signer } => {
                let mut parts = split(token);
                parts.resize(parts.len().max(2), Vec::new());
                let input = join(&parts[..2]);
                let sig = match signer {
                    SignWith::Active => f.active.sign(&input).to_bytes().to_vec(),
                    SignWith::Retired => f.retired.sign(&input).to_bytes().to_vec(),
                    SignWith::Foreign => f.foreign.sign(&input).to_bytes().to_vec(),
                    SignWith::HmacWithPublicKey { raw: false } => {
                        hmac_sha256(f.active_x.as_bytes(), &input)
                    }
                    SignWith::HmacWithPublicKey { raw: true } => {
                        hmac_sha256(f.active.verifying_key().as_bytes(), &input)
                    }
                    SignWith::Unsigned => Vec::new(),
                    SignWith::Bytes(bytes) => bytes.clone(),
                };
                let mut signed = input;
                signed.push(b'.');
                signed.extend_from_slice(b64(sig).as_bytes());
                *token = signed;
            }
        }
    }
}

fn set_segment(token: &mut Vec<u8>, segment: Segment, text: Vec<u8>) {
    let mut parts = split(token);
    let i = segment.index();
    parts.resize(parts.len().max(i + 1), Vec::new());
    parts[i] = text;
    *token = join(&parts);
}

fn edit_object(token: &mut Vec<u8>, segment: Segment, edit: impl FnOnce(&mut Map<String, Value>)) {
    let mut parts = split(token);
    let i = segment.index();
    parts.resize(parts.len().max(i + 1), Vec::new());
    let mut map = decoded_object(&parts[i]);
    edit(&mut map);
    parts[i] = encode_object(map);
    *token = join(&parts);
}
