//! The guard's offline path (core's header parse, key by `kid`, core's signature and claim
//! checks) gives every refusal its own [`GuardError`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use portcullis_core::token::{
    AccessClaims, Expectation, Header, MAX_TOKEN_BYTES, TokenKeys, jws, verify_with_key,
};

use super::*;

const ISS: &str = "https://auth.example";
const AUD: &str = "https://api.example";
const NOW: i64 = 1_800_000_000;

fn expect() -> Expectation<'static> {
    Expectation {
        issuer: ISS,
        audience: AUD,
        leeway_secs: 30,
    }
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
        acr: "aal1".to_owned(),
        amr: vec!["pwd".to_owned()],
        roles: vec!["client".to_owned()],
        auth_time: NOW - 10,
        scope: None,
        cnf: None,
    }
}

fn keys() -> TokenKeys {
    TokenKeys::generate([9; 32], NOW).unwrap()
}

fn decoding(keys: &TokenKeys) -> VerifyingKey {
    jws::verifying_key(&keys.jwks().keys[0].x).unwrap()
}

/// The signature and claims checks, as the guard's errors.
fn check_token(
    token: &str,
    key: &VerifyingKey,
    expect: &Expectation<'_>,
    now: i64,
) -> Result<AccessClaims, GuardError> {
    Ok(verify_with_key(token, key, expect, now)?)
}

/// The whole offline path: header, key by kid, signature, claims.
fn verify(token: &str, keys: &TokenKeys, key: &VerifyingKey) -> Result<AccessClaims, GuardError> {
    let header = Header::parse(token)?;
    if header.kid() != keys.active_kid() {
        return Err(GuardError::UnknownKey);
    }
    check_token(token, key, &expect(), NOW)
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header))
}

#[test]
fn a_good_token_verifies() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    assert_eq!(verify(&token, &keys, &decoding(&keys)), Ok(claims()));
}

#[test]
fn each_refusal_has_its_own_error() {
    let keys = keys();
    let key = decoding(&keys);
    let token = keys.sign(&claims()).unwrap();
    let kid = keys.active_kid().to_owned();
    let check = |t: &str| verify(t, &keys, &key);

    assert_eq!(check("not a token"), Err(GuardError::Malformed));
    assert_eq!(check("a.b"), Err(GuardError::Malformed));
    assert_eq!(check("a.b.c.d"), Err(GuardError::Malformed));
    assert_eq!(
        check(&"a".repeat(MAX_TOKEN_BYTES + 1)),
        Err(GuardError::Oversized)
    );

    let none = with_header(
        &token,
        &format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#),
    );
    assert_eq!(check(&none), Err(GuardError::AlgNone));
    let unsigned = format!("{}.", none.rsplit_once('.').unwrap().0);
    assert_eq!(check(&unsigned), Err(GuardError::AlgNone));
    let hs = with_header(
        &token,
        &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
    );
    assert_eq!(check(&hs), Err(GuardError::UnsupportedAlgorithm));
    let jwt = with_header(
        &token,
        &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{kid}"}}"#),
    );
    assert_eq!(check(&jwt), Err(GuardError::WrongType));
    let no_kid = with_header(&token, r#"{"alg":"EdDSA","typ":"at+jwt"}"#);
    assert_eq!(check(&no_kid), Err(GuardError::UnknownKey));

    // Header and payload of one token, signature of another: a forgery.
    let other = keys
        .sign(&AccessClaims {
            roles: vec!["admin".to_owned()],
            ..claims()
        })
        .unwrap();
    let (forged_body, _) = other.rsplit_once('.').unwrap();
    let sig = token.rsplit_once('.').unwrap().1;
    assert_eq!(
        check(&format!("{forged_body}.{sig}")),
        Err(GuardError::BadSignature)
    );

    let signed = |c: AccessClaims| keys.sign(&c).unwrap();
    let expired = signed(AccessClaims {
        exp: NOW - 31,
        ..claims()
    });
    assert_eq!(check(&expired), Err(GuardError::Expired));
    let within_leeway = signed(AccessClaims {
        exp: NOW - 29,
        ..claims()
    });
    assert!(check(&within_leeway).is_ok());
    let early = signed(AccessClaims {
        nbf: NOW + 31,
        ..claims()
    });
    assert_eq!(check(&early), Err(GuardError::NotYetValid));
    let aud = signed(AccessClaims {
        aud: "https://other.example".to_owned(),
        ..claims()
    });
    assert_eq!(check(&aud), Err(GuardError::WrongAudience));
    let iss = signed(AccessClaims {
        iss: "https://evil.example".to_owned(),
        ..claims()
    });
    assert_eq!(check(&iss), Err(GuardError::WrongIssuer));
}

#[test]
fn a_token_signed_by_another_key_fails_its_signature() {
    let keys = keys();
    let other = TokenKeys::generate([10; 32], NOW).unwrap();
    let token = other.sign(&claims()).unwrap();
    assert_eq!(
        check_token(&token, &decoding(&keys), &expect(), NOW),
        Err(GuardError::BadSignature)
    );
}

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }
}

const ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/{}\":, \\\0\xff";

fn mutate(rng: &mut Rng, token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => bytes[rng.below(len)] = ALPHABET[rng.below(ALPHABET.len())],
            1 if len > 0 => bytes.truncate(rng.below(len)),
            2 => bytes.insert(rng.below(len + 1), ALPHABET[rng.below(ALPHABET.len())]),
            3 if len > 0 => {
                let at = rng.below(len);
                bytes.remove(at);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            5 => {
                let start = rng.below(len + 1);
                let chunk: Vec<u8> = bytes[start..].iter().take(rng.below(64)).copied().collect();
                bytes.extend_from_slice(&chunk);
            }
            _ => {
                let n = rng.below(200);
                bytes = (0..n)
                    .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                    .collect();
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A fuzz pass over the parsing path: thousands of mutated and random tokens must be refused
/// (or, if a mutation left the signed bytes intact, accepted with the original claims) and
/// must never panic.
#[test]
fn mutated_tokens_never_panic_and_never_forge() {
    let keys = keys();
    let key = decoding(&keys);
    let token = keys.sign(&claims()).unwrap();
    let kid = keys.active_kid().to_owned();
    let headers = [
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","crit":["x"]}}"#),
        r#"{"alg":"EdDSA","typ":"at+jwt","kid":7}"#.to_owned(),
        r#"{"alg":["EdDSA"]}"#.to_owned(),
        "[]".to_owned(),
        "{".to_owned(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..6000 {
        let base = if i % 5 == 0 {
            with_header(&token, &headers[rng.below(headers.len())])
        } else {
            token.clone()
        };
        let candidate = mutate(&mut rng, &base);
        if let Ok(got) = verify(&candidate, &keys, &key) {
            assert_eq!(got, claims(), "a mutated token verified with other claims");
        }
    }
}
