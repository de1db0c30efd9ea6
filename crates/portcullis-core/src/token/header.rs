//! The first step of verifying an access token: its size and shape, and the protected header
//! decided by our own parse before any key is chosen.
//!
//! Deciding `alg` here, before a key is looked up, is what shuts out `alg: none` and
//! HMAC-keyed-with-the-public-key confusion: only an `EdDSA` token gets as far as naming a
//! key. Both verifiers take this step, core's [`super::TokenKeys::verify`] and the guard
//! crate (whose keys come from a fetched JWKS), so they refuse the same headers; each refusal
//! is its own [`TokenError`] variant so the guard can tell its callers why.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{MAX_TOKEN_BYTES, TOKEN_TYPE, TokenError};

/// Longest header segment we decode; ours is well under 200 bytes.
const MAX_HEADER_SEGMENT: usize = 1024;

/// The decided header of a token: `alg` is `EdDSA`, `typ` is `at+jwt`, there is no `crit`,
/// and a `kid` names the key to verify it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    kid: String,
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

/// Refuses a token longer than [`MAX_TOKEN_BYTES`], before anything is decoded (a verifier
/// with a cache in front of its parse checks this first, so it never hashes such input).
///
/// # Errors
/// [`TokenError::Oversized`].
pub fn check_length(token: &str) -> Result<(), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Oversized);
    }
    Ok(())
}

/// Refuses JSON that is not Unicode text: bytes that are not UTF-8, or a `\u` escape that
/// is no character (a lone surrogate such as `"\ud800"`).
///
/// serde_json checks the members a struct names strictly but skips the others without
/// checking their bytes or decoding their escapes, so `{"alg":"EdDSA",…,"x":"\ud800"}` (or
/// a member holding a byte 0xFF) parsed as a header we accepted although no JSON library
/// turns it into a value (found by the `token_mutate` fuzzer). UTF-8 is checked for every
/// text; the second, strict parse is made only when the text holds a `\u` at all, which
/// nothing we sign does, so our own tokens pay two byte scans.
///
/// # Errors
/// [`TokenError::Malformed`].
pub(super) fn refuse_non_unicode(json: &[u8]) -> Result<(), TokenError> {
    std::str::from_utf8(json).map_err(|_| TokenError::Malformed)?;
    if !json.windows(2).any(|pair| pair == b"\\u") {
        return Ok(());
    }
    serde_json::from_slice::<serde_json::Value>(json)
        .map(|_| ())
        .map_err(|_| TokenError::Malformed)
}

impl Header {
    /// Checks the size and shape of compact JWS `token` and decides its header, in this
    /// order: length ([`check_length`]); three non-empty-headed, non-empty-bodied segments
    /// with a header segment of at most 1 KiB; the header is base64url of a JSON object;
    /// `alg` is not `none` (any case), then is `EdDSA`; `typ` is `at+jwt` (or
    /// `application/at+jwt`, any case) and there is no `crit`; a `kid` is present.
    ///
    /// The signature and claims are not looked at (see [`super::verify_with_key`]).
    ///
    /// # Errors
    /// [`TokenError::Oversized`], [`TokenError::Malformed`], [`TokenError::AlgNone`],
    /// [`TokenError::UnsupportedAlgorithm`], [`TokenError::WrongType`], or
    /// [`TokenError::UnknownKey`] when there is no `kid`: the first check that failed.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        check_length(token)?;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if header.is_empty() || payload.is_empty() || header.len() > MAX_HEADER_SEGMENT {
            return Err(TokenError::Malformed);
        }
        let json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: RawHeader = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        refuse_non_unicode(&json)?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgNone);
        }
        if header.alg != "EdDSA" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok || header.crit {
            return Err(TokenError::WrongType);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        Ok(Self { kid })
    }

    /// The `kid` naming the key that must have signed the token.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.{}", URL_SAFE_NO_PAD.encode(header), "A".repeat(86))
    }

    #[test]
    fn a_header_that_is_not_unicode_anywhere_is_malformed() {
        for header in [
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","x":"\ud800"}"#,
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","x":"\udc00x"}"#,
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","x":{"":["\ud800\u0041"]}}"#,
        ] {
            assert_eq!(
                Header::parse(&token(header)),
                Err(TokenError::Malformed),
                "{header}"
            );
        }
        // A byte that is not UTF-8 in a member we ignore, or in its name.
        for raw in [
            &b"{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"x\":\"\xff\"}"[..],
            &b"{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"\xc3\":1}"[..],
        ] {
            let token = format!("{}.e30.{}", URL_SAFE_NO_PAD.encode(raw), "A".repeat(86));
            assert_eq!(Header::parse(&token), Err(TokenError::Malformed));
        }
        // A valid escape, a surrogate pair included, is still fine.
        let fine = r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","x":"\u00e9\ud83d\ude00"}"#;
        assert_eq!(Header::parse(&token(fine)).unwrap().kid(), "k1");
    }

    #[test]
    fn a_header_of_ours_names_its_key() {
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            let header = format!(r#"{{"alg":"EdDSA","typ":"{typ}","kid":"k1"}}"#);
            assert_eq!(Header::parse(&token(&header)).unwrap().kid(), "k1");
        }
    }

    #[test]
    fn each_refusal_is_told_apart() {
        let cases = [
            (
                r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#,
                TokenError::AlgNone,
            ),
            (
                r#"{"alg":"nOnE","typ":"at+jwt","kid":"k1"}"#,
                TokenError::AlgNone,
            ),
            (
                r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#,
                TokenError::UnsupportedAlgorithm,
            ),
            (
                r#"{"alg":"eddsa","typ":"at+jwt","kid":"k1"}"#,
                TokenError::UnsupportedAlgorithm,
            ),
            (
                r#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#,
                TokenError::WrongType,
            ),
            (r#"{"alg":"EdDSA","kid":"k1"}"#, TokenError::WrongType),
            (
                r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1","crit":null}"#,
                TokenError::WrongType,
            ),
            (r#"{"alg":"EdDSA","typ":"at+jwt"}"#, TokenError::UnknownKey),
            (
                r#"{"alg":"EdDSA","typ":"at+jwt","kid":7}"#,
                TokenError::Malformed,
            ),
            ("[]", TokenError::Malformed),
        ];
        for (header, want) in cases {
            assert_eq!(Header::parse(&token(header)), Err(want), "{header}");
        }
    }

    #[test]
    fn size_and_segments_are_bounded() {
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(check_length(&big), Err(TokenError::Oversized));
        assert_eq!(Header::parse(&big), Err(TokenError::Oversized));
        assert_eq!(check_length(&big[1..]), Ok(()));
        let good = token(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#);
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let long_kid = format!(
            r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#,
            "k".repeat(800)
        );
        for bad in [
            format!(".e30.{signature}"),
            format!("{header}..{signature}"),
            format!("{header}.e30"),
            format!("{good}.x"),
            token(&long_kid),
        ] {
            assert_eq!(Header::parse(&bad), Err(TokenError::Malformed), "{bad}");
        }
    }
}
