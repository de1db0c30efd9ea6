#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey};
use sha2::Sha256;

use super::*;

const ISS: &str = "https://auth.example";
const AUD: &str = "https://api.example";
const NOW: i64 = 1_800_000_000;

// RFC 8037 Appendix A.
const RFC_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
const RFC_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const RFC_SIG: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn rfc_seed() -> [u8; 32] {
    URL_SAFE_NO_PAD.decode(RFC_D).unwrap().try_into().unwrap()
}

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
        acr: "aal2".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        roles: vec!["admin".to_owned()],
        auth_time: NOW - 10,
        scope: None,
        cnf: None,
    }
}

fn keys() -> TokenKeys {
    TokenKeys::generate([7; 32], NOW).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn payload_b64() -> String {
    b64(&serde_json::to_vec(&claims()).unwrap())
}

#[test]
fn rfc8037_public_key_and_thumbprint() {
    let keys = TokenKeys::generate(rfc_seed(), 0).unwrap();
    let jwks = keys.jwks();
    assert_eq!(jwks.keys.len(), 1);
    let jwk = &jwks.keys[0];
    assert_eq!(jwk.x, RFC_X);
    assert_eq!(jwk.kid, RFC_KID);
    assert_eq!(keys.active_kid(), RFC_KID);
    assert_eq!(keys.records()[0].kid, RFC_KID);
    let json = serde_json::to_value(jwk).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kty":"OKP","crv":"Ed25519","x":RFC_X,"kid":RFC_KID,"use":"sig","alg":"EdDSA"})
    );
}

#[test]
fn rfc8037_signature_with_jsonwebtoken_and_our_verifier() {
    assert_eq!(
        b64(br#"{"alg":"EdDSA"}"#),
        RFC_SIGNING_INPUT.split('.').next().unwrap()
    );
    assert_eq!(
        b64(b"Example of Ed25519 signing"),
        RFC_SIGNING_INPUT.split('.').nth(1).unwrap()
    );

    // Our derivation of the key from the seed matches the RFC.
    let sig = SigningKey::from_bytes(&rfc_seed()).sign(RFC_SIGNING_INPUT.as_bytes());
    assert_eq!(b64(&sig.to_bytes()), RFC_SIG);

    let keys = TokenKeys::generate(rfc_seed(), 0).unwrap();
    let input = RFC_SIGNING_INPUT.as_bytes();
    // jsonwebtoken accepts our PKCS#8 encoding key and signs as the RFC does.
    let ours = jsonwebtoken::crypto::sign(input, &keys.encoding, Algorithm::EdDSA).unwrap();
    assert_eq!(ours, RFC_SIG);
    // Our verification key accepts the RFC's JWS and refuses a tampered one.
    let verifying = &keys.published[RFC_KID].verifying;
    let jws = format!("{RFC_SIGNING_INPUT}.{RFC_SIG}");
    assert!(jws::verify_signature(&jws, verifying).is_ok());
    let tampered = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmh";
    assert_eq!(
        jws::verify_signature(&format!("{tampered}.{RFC_SIG}"), verifying),
        Err(TokenError::BadSignature)
    );
    // The raw-bytes form (`from_ed_der` with the 32 public-key bytes) works the same way.
    let raw = DecodingKey::from_ed_der(&URL_SAFE_NO_PAD.decode(RFC_X).unwrap());
    assert!(jsonwebtoken::crypto::verify(RFC_SIG, input, &raw, Algorithm::EdDSA).unwrap());
}

#[test]
fn sign_verify_round_trip() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], keys.active_kid());
    assert_eq!(keys.verify(&token, &expect(), NOW).unwrap(), claims());
}

#[test]
fn expiry_and_not_before_respect_leeway() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    let exp = claims().exp;
    assert!(keys.verify(&token, &expect(), exp + 29).is_ok());
    assert_eq!(
        keys.verify(&token, &expect(), exp + 30),
        Err(TokenError::Expired)
    );
    assert_eq!(
        keys.verify(&token, &expect(), exp + 3_600),
        Err(TokenError::Expired)
    );
    let strict = Expectation {
        leeway_secs: 0,
        ..expect()
    };
    assert_eq!(keys.verify(&token, &strict, exp), Err(TokenError::Expired));

    let mut future = claims();
    future.nbf = NOW + 100;
    let token = keys.sign(&future).unwrap();
    assert_eq!(
        keys.verify(&token, &expect(), NOW),
        Err(TokenError::NotYetValid)
    );
    assert!(keys.verify(&token, &expect(), NOW + 70).is_ok());
}

#[test]
fn wrong_issuer_and_audience_are_refused() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    let other_iss = Expectation {
        issuer: "https://evil.example",
        ..expect()
    };
    assert_eq!(
        keys.verify(&token, &other_iss, NOW),
        Err(TokenError::WrongIssuer)
    );
    let other_aud = Expectation {
        audience: "https://other.example",
        ..expect()
    };
    assert_eq!(
        keys.verify(&token, &other_aud, NOW),
        Err(TokenError::WrongAudience)
    );
}

#[test]
fn tampering_breaks_the_signature() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged.roles.push("superuser".to_owned());
    let payload = b64(&serde_json::to_vec(&forged).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    assert_eq!(
        keys.verify(&tampered, &expect(), NOW),
        Err(TokenError::BadSignature)
    );

    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
    assert_eq!(
        keys.verify(&tampered, &expect(), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn unknown_kid_is_refused() {
    let token = TokenKeys::generate([9; 32], NOW)
        .unwrap()
        .sign(&claims())
        .unwrap();
    assert_eq!(
        keys().verify(&token, &expect(), NOW),
        Err(TokenError::UnknownKey)
    );

    let header = b64(br#"{"alg":"EdDSA","typ":"at+jwt"}"#);
    let no_kid = format!("{header}.{}.{}", payload_b64(), b64(&[0; 64]));
    assert_eq!(
        keys().verify(&no_kid, &expect(), NOW),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn alg_none_and_hs256_are_refused() {
    let keys = keys();
    let kid = keys.active_kid().to_owned();
    let payload = payload_b64();

    for alg in ["none", "None", "NONE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes());
        let token = format!("{header}.{payload}.");
        assert_eq!(
            keys.verify(&token, &expect(), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    // Classic confusion: HMAC keyed with the published public key.
    let x = keys.jwks().keys[0].x.clone();
    for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(&x).unwrap()] {
        let header = b64(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes());
        let input = format!("{header}.{payload}");
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        assert_eq!(
            keys.verify(&token, &expect(), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn wrong_typ_and_crit_are_refused() {
    let keys = keys();
    let kid = keys.active_kid().to_owned();
    for header in [
        format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","crit":["exp"]}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","crit":null}}"#),
    ] {
        let token = format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            payload_b64(),
            b64(&[0; 64])
        );
        assert_eq!(
            keys.verify(&token, &expect(), NOW),
            Err(TokenError::Malformed)
        );
    }
}

#[test]
fn garbage_and_oversized_tokens_are_malformed() {
    let keys = keys();
    let valid_header = b64(br#"{"alg":"EdDSA","typ":"at+jwt"}"#);
    let garbage = [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "a.b.c.d".to_owned(),
        "é.ü.ß".to_owned(),
        "not a token".to_owned(),
        format!("{}.e30.", b64(b"not json")),
        format!("{}.e30.", b64(b"[1,2]")),
        format!("{}=.e30.", valid_header),
        format!("{valid_header}.e30.sig.extra"),
    ];
    for token in &garbage {
        assert_eq!(
            keys.verify(token, &expect(), NOW),
            Err(TokenError::Malformed),
            "{token:?}"
        );
    }

    let big = "a".repeat(9 * 1024);
    assert_eq!(
        keys.verify(&big, &expect(), NOW),
        Err(TokenError::Malformed)
    );
    let token = keys.sign(&claims()).unwrap();
    let padded = format!("{token}{}", "A".repeat(9 * 1024));
    assert_eq!(
        keys.verify(&padded, &expect(), NOW),
        Err(TokenError::Malformed)
    );

    let mut huge = claims();
    huge.roles = vec!["r".repeat(9 * 1024)];
    assert!(matches!(keys.sign(&huge), Err(TokenError::Signing(_))));
}

#[test]
fn every_truncation_and_byte_flip_fails_without_panicking() {
    let keys = keys();
    let token = keys.sign(&claims()).unwrap();
    for end in 0..token.len() {
        assert!(keys.verify(&token[..end], &expect(), NOW).is_err());
    }
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        let mut flipped = bytes.to_vec();
        flipped[i] = if flipped[i] == b'.' { b'A' } else { b'.' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(keys.verify(&flipped, &expect(), NOW).is_err());
    }
}

#[test]
fn rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
    let mut keys = keys();
    let old_kid = keys.active_kid().to_owned();
    let old_token = keys.sign(&claims()).unwrap();

    keys.rotate([8; 32], NOW + 10).unwrap();
    let new_kid = keys.active_kid().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(keys.records().len(), 2);
    assert_eq!(keys.records()[0].retired_at, Some(NOW + 10));
    assert_eq!(keys.records()[1].retired_at, None);
    let kids: Vec<String> = keys.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(kids, vec![old_kid.clone(), new_kid.clone()]);

    assert_eq!(
        keys.verify(&old_token, &expect(), NOW + 10).unwrap(),
        claims()
    );
    let new_token = keys.sign(&claims()).unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(new_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
    assert!(keys.verify(&new_token, &expect(), NOW + 10).is_ok());

    // A reused seed is refused and leaves the set untouched.
    assert!(matches!(
        keys.rotate([7; 32], NOW + 20),
        Err(TokenError::Signing(_))
    ));
    assert_eq!(keys.active_kid(), new_kid);
    assert_eq!(keys.records().len(), 2);
}

#[test]
fn prune_drops_retired_keys_only_after_the_lifetime() {
    let mut keys = keys();
    let old_token = keys.sign(&claims()).unwrap();
    keys.rotate([8; 32], NOW + 10).unwrap();
    let lifetime = 600;

    assert_eq!(keys.prune(NOW + 10 + lifetime, lifetime), 0);
    assert_eq!(keys.jwks().keys.len(), 2);
    assert_eq!(keys.prune(NOW + 10 + lifetime + 1, lifetime), 1);
    assert_eq!(keys.records().len(), 1);
    assert_eq!(keys.jwks().keys.len(), 1);
    assert_eq!(keys.jwks().keys[0].kid, keys.active_kid());
    assert_eq!(
        keys.verify(&old_token, &expect(), NOW),
        Err(TokenError::UnknownKey)
    );

    // The active key is never pruned.
    assert_eq!(keys.prune(i64::MAX, 0), 0);
    assert!(keys.sign(&claims()).is_ok());
}

#[test]
fn records_round_trip_through_json_and_from_records() {
    let mut keys = keys();
    keys.rotate([8; 32], NOW + 10).unwrap();
    let token = keys.sign(&claims()).unwrap();

    let json = serde_json::to_string(keys.records()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value[0]["seed"], b64(&[7; 32]));
    let records: Vec<KeyRecord> = serde_json::from_str(&json).unwrap();
    let reloaded = TokenKeys::from_records(records).unwrap();
    assert_eq!(reloaded.active_kid(), keys.active_kid());
    assert_eq!(reloaded.jwks(), keys.jwks());
    assert_eq!(reloaded.verify(&token, &expect(), NOW).unwrap(), claims());

    let again = TokenKeys::from_records(keys.records().to_vec()).unwrap();
    assert_eq!(again.active_kid(), keys.active_kid());
    assert_eq!(again.records().len(), 2);
}

#[test]
fn from_records_refuses_bad_key_files() {
    let invalid =
        |r: Result<TokenKeys, TokenError>| matches!(r, Err(TokenError::InvalidKeyFile(_)));
    assert!(invalid(TokenKeys::from_records(Vec::new())));

    let mut keys = keys();
    keys.rotate([8; 32], NOW + 10).unwrap();
    let mut retired = keys.records().to_vec();
    retired[1].retired_at = Some(NOW + 20);
    assert!(invalid(TokenKeys::from_records(retired)));

    let mut wrong_kid = keys.records().to_vec();
    wrong_kid[0].kid = wrong_kid[1].kid.clone();
    assert!(invalid(TokenKeys::from_records(wrong_kid)));

    let mut duplicate = keys.records().to_vec();
    duplicate.push(duplicate[1].clone());
    assert!(invalid(TokenKeys::from_records(duplicate)));

    let bad_seed = r#"[{"kid":"k","seed":"AAAA","created_at":0,"retired_at":null}]"#;
    assert!(serde_json::from_str::<Vec<KeyRecord>>(bad_seed).is_err());
}

#[test]
fn active_key_is_the_newest_unretired_record() {
    let a = TokenKeys::generate([1; 32], 100).unwrap();
    let b = TokenKeys::generate([2; 32], 200).unwrap();
    let records = vec![b.records()[0].clone(), a.records()[0].clone()];
    let keys = TokenKeys::from_records(records).unwrap();
    assert_eq!(keys.active_kid(), b.active_kid());
    assert_eq!(keys.jwks().keys.len(), 2);
}

#[test]
fn debug_output_has_no_seed() {
    let seed = rfc_seed();
    let keys = TokenKeys::generate(seed, 0).unwrap();
    let printed = format!("{keys:?} {:?} {:#?}", keys.records()[0], keys.records());
    assert!(printed.contains(RFC_KID));
    assert!(printed.contains("<redacted>"));
    assert!(!printed.contains(RFC_D));
    assert!(!printed.contains(&hex::encode(seed)));
    assert!(!printed.contains(&hex::encode_upper(seed)));
    let decimal = format!("{}, {}, {}", seed[0], seed[1], seed[2]);
    assert!(!printed.contains(&decimal));
    let display = TokenError::InvalidKeyFile("x".to_owned()).to_string();
    assert!(!display.contains(RFC_D));
}

#[test]
fn statements_are_signed_by_the_active_key_and_never_pass_as_access_tokens() {
    let keys = keys();
    let statement = keys
        .sign_statement("presence+jwt", &serde_json::json!({"challenge": "c"}))
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(statement.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "presence+jwt");
    assert_eq!(header["kid"], keys.active_kid());
    // The signature verifies under the active key...
    let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
    assert!(jws::verify_signature(&statement, &key).is_ok());
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert!(jws::verify_signature(&statement, &other).is_err());
    // ...but the statement is not an access token.
    assert!(keys.verify(&statement, &expect(), NOW).is_err());
    assert!(matches!(
        keys.sign_statement("AT+JWT", &serde_json::json!({})),
        Err(TokenError::Signing(_))
    ));
}
