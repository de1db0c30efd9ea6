//! Opaque bearer secrets (refresh tokens, e-mail links) and their stored hashes.
//!
//! The plain token goes to the client once; the database keeps only its SHA-256. Both forms are
//! distinct types so a hash cannot be sent where a token belongs, and neither prints itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

use crate::entropy::Entropy;

/// Length of the random part of a token, in bytes (256 bits).
const TOKEN_BYTES: usize = 32;

/// A 256-bit random token in base64url, as handed to a client.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    /// Draws a new token from `entropy`.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut raw = [0u8; TOKEN_BYTES];
        entropy.fill(&mut raw);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Accepts a token presented by a client. Only the shape is checked here (length and
    /// alphabet), so a malformed value is refused before any database look-up.
    ///
    /// # Errors
    /// Returns `None` when `s` cannot be one of our tokens.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(SecretString::from(s.to_owned())))
    }

    /// The token text, for the one response or mail that carries it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The hash under which the token is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.expose_secret().as_bytes()).into())
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

/// SHA-256 of an [`OpaqueToken`], the only form the store keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Rebuilds a hash read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entropy::CountingEntropy;

    #[test]
    fn generated_tokens_parse_and_hash_stably() {
        let e = CountingEntropy::default();
        let t = OpaqueToken::generate(&e);
        let again = OpaqueToken::parse(t.expose()).unwrap();
        assert!(t.hash().ct_eq(&again.hash()));
        assert_ne!(t.expose(), OpaqueToken::generate(&e).expose());
    }

    #[test]
    fn parse_refuses_wrong_shapes() {
        assert!(OpaqueToken::parse("").is_none());
        assert!(OpaqueToken::parse(&"a".repeat(42)).is_none());
        assert!(OpaqueToken::parse(&"a".repeat(44)).is_none());
        assert!(OpaqueToken::parse(&format!("{}=", "a".repeat(42))).is_none());
        assert!(OpaqueToken::parse(&"a".repeat(43)).is_some());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = OpaqueToken::generate(&CountingEntropy::default());
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        let t = OpaqueToken::parse(&"a".repeat(43)).unwrap();
        let expected: [u8; 32] = Sha256::digest("a".repeat(43).as_bytes()).into();
        assert_eq!(t.hash().as_bytes(), &expected);
    }
}
