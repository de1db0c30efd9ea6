//! The signature step of verifying a compact JWS signed with Ed25519 (RFC 7515 §7.1, RFC 8037),
//! shared by core's [`super::TokenKeys::verify`] and the guard crate, so the two verifiers
//! cannot disagree on a token.
//!
//! Why not `jsonwebtoken::decode`: it takes a `DecodingKey`, which holds the public key as
//! bytes and decompresses the curve point again on every call, and it parses the header a
//! second time after our own checks. Here the caller passes an [`VerifyingKey`] it built once
//! per key, having already decided the header; this module only splits the token, decodes the
//! signature, has ed25519-dalek check it (the same `verify` jsonwebtoken's RustCrypto backend
//! calls) and decodes the claims. No cryptography is done here beyond that call.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

use super::{AccessClaims, TokenError};

/// Longest base64url text of a 64-byte signature (86 characters; a few more are tolerated so
/// that an over-long one is a bad signature, not a decode error, as jsonwebtoken answered).
const MAX_SIGNATURE_SEGMENT: usize = 128;

/// Checks the Ed25519 signature of compact JWS `token` with `key` and returns the payload
/// segment (still base64url) it covers.
///
/// The header is not looked at: the caller has decided `alg`, `typ` and `kid` already.
///
/// # Errors
/// [`TokenError::Malformed`] if `token` is not three segments or the signature segment is not
/// base64url; [`TokenError::BadSignature`] if the signature is not 64 bytes or does not verify.
pub fn verify_signature<'t>(token: &'t str, key: &VerifyingKey) -> Result<&'t str, TokenError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (_, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.contains('.') {
        return Err(TokenError::Malformed);
    }
    let signature = decode_signature(signature)?;
    key.verify(signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::BadSignature)?;
    Ok(payload)
}

/// Decodes the claims of a payload segment that [`verify_signature`] returned.
///
/// # Errors
/// [`TokenError::Malformed`] if the segment is not base64url of a JSON claims object, or holds
/// text that is not Unicode (see [`super::header::refuse_non_unicode`]).
pub fn decode_claims(payload: &str) -> Result<AccessClaims, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    super::header::refuse_non_unicode(&json)?;
    Ok(claims)
}

/// [`verify_signature`], then [`decode_claims`].
///
/// # Errors
/// As those two.
pub fn verify_claims(token: &str, key: &VerifyingKey) -> Result<AccessClaims, TokenError> {
    decode_claims(verify_signature(token, key)?)
}

/// The 64 signature bytes of a base64url segment, decoded on the stack.
fn decode_signature(segment: &str) -> Result<Signature, TokenError> {
    if segment.len() > MAX_SIGNATURE_SEGMENT {
        return Err(TokenError::BadSignature);
    }
    let mut bytes = [0u8; MAX_SIGNATURE_SEGMENT];
    let len = URL_SAFE_NO_PAD
        .decode_slice(segment, &mut bytes)
        .map_err(|_| TokenError::Malformed)?;
    let bytes: &[u8; 64] = bytes[..len]
        .try_into()
        .map_err(|_| TokenError::BadSignature)?;
    Ok(Signature::from_bytes(bytes))
}

/// The verification key of a JWK's `x` (base64url of the 32-byte Ed25519 public key), or
/// `None` if it is not one.
pub fn verifying_key(x: &str) -> Option<VerifyingKey> {
    let mut bytes = [0u8; 48];
    let len = URL_SAFE_NO_PAD.decode_slice(x, &mut bytes).ok()?;
    let bytes: &[u8; 32] = bytes[..len].try_into().ok()?;
    VerifyingKey::from_bytes(bytes).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    // RFC 8037 Appendix A.1 (public key) and A.4 (the signed example).
    const RFC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc_key() -> VerifyingKey {
        verifying_key(RFC_X).unwrap()
    }

    #[test]
    fn rfc8037_example_verifies_and_returns_its_payload() {
        let payload = verify_signature(RFC_JWS, &rfc_key()).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(payload).unwrap(),
            b"Example of Ed25519 signing"
        );
        // Not claims of ours: the signature is good but the payload is refused.
        assert_eq!(
            verify_claims(RFC_JWS, &rfc_key()),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn claims_with_a_lone_surrogate_in_a_member_we_ignore_are_malformed() {
        let claims = r#"{"iss":"i","sub":"s","aud":"a","exp":2,"iat":1,"nbf":1,"jti":"j","sid":"d","acr":"aal1","amr":["pwd"],"roles":[],"auth_time":1"#;
        let good = URL_SAFE_NO_PAD.encode(format!("{claims},\"x\":\"\\u00e9\"}}"));
        assert_eq!(decode_claims(&good).unwrap().sub, "s");
        let bad = URL_SAFE_NO_PAD.encode(format!("{claims},\"x\":\"\\ud800\"}}"));
        assert_eq!(decode_claims(&bad), Err(TokenError::Malformed));
    }

    #[test]
    fn rfc8037_example_tampered_anywhere_is_refused() {
        let key = rfc_key();
        // A changed payload (last character), header, or signature.
        let payload = RFC_JWS.replace("IHNpZ25pbmc.", "IHNpZ25pbmh.");
        assert_eq!(
            verify_signature(&payload, &key),
            Err(TokenError::BadSignature)
        );
        let header = RFC_JWS.replacen("eyJhbGciOiJFZERTQSJ9", "eyJhbGciOiJFZERTQSI9", 1);
        assert_eq!(
            verify_signature(&header, &key),
            Err(TokenError::BadSignature)
        );
        let signature = RFC_JWS.replace("uM0KAg", "uM0KAw");
        assert_eq!(
            verify_signature(&signature, &key),
            Err(TokenError::BadSignature)
        );
        // Another key.
        let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        assert_eq!(
            verify_signature(RFC_JWS, &other),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn shapes_and_signature_lengths() {
        let key = rfc_key();
        let (input, sig) = RFC_JWS.rsplit_once('.').unwrap();
        for token in ["", "a", "a.b", "a.b.c.d", &format!("{input}.x.{sig}")] {
            assert_eq!(
                verify_signature(token, &key),
                Err(TokenError::Malformed),
                "{token}"
            );
        }
        // Not base64url: malformed. Base64url of the wrong length: a bad signature.
        assert_eq!(
            verify_signature(&format!("{input}.{sig}="), &key),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify_signature(&format!("{input}.{}", &sig[..40]), &key),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_signature(&format!("{input}.{sig}AAAA"), &key),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_signature(&format!("{input}.{}", "A".repeat(4000)), &key),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_signature(&format!("{input}."), &key),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn verifying_key_takes_only_32_byte_points() {
        assert_eq!(verifying_key(RFC_X).unwrap().as_bytes().len(), 32);
        assert!(verifying_key("").is_none());
        assert!(verifying_key(&RFC_X[..40]).is_none());
        assert!(verifying_key(&format!("{RFC_X}AAAA")).is_none());
        assert!(verifying_key("not base64!").is_none());
    }
}
