//! API keys of front-end applications: the scopes a key can be granted, the key itself and
//! the origins it may be used from.
//!
//! A key (`pk_live_` and a 256-bit random token in base64url) identifies an application, not
//! a user: the endpoints it opens still want the user's access token. It is shown once; the
//! store keeps its SHA-256 (a secret of that entropy needs no slow hash) and a short public
//! prefix, so operators can tell keys apart in lists without seeing them.
//!
//! The scopes are one closed set, [`ApiScope`], so adding an endpoint group is adding a
//! variant here; a name outside it is refused when a key is made, never stored.

mod origin;

pub use origin::{Origin, OriginError, origin_allowed};

use std::fmt;
use std::str::FromStr;

use crate::entropy::Entropy;
use crate::secret::{OpaqueToken, TokenHash};

/// What every key's text starts with, so one is recognised in a leak scan or a log.
pub const KEY_PREFIX: &str = "pk_live_";

/// Characters of the random part kept in the clear as the key's public prefix (36 bits of
/// 256: enough to tell keys apart, far too few to help guess one).
const PUBLIC_CHARS: usize = 6;

/// An endpoint group a key may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiScope {
    /// `wallets:read`: list wallets, read an address, a balance, the history.
    WalletsRead,
    /// `wallets:create`: create a wallet.
    WalletsCreate,
    /// `wallets:send`: send a transaction.
    WalletsSend,
    /// `wallets:sign`: sign a message (EIP-191).
    WalletsSign,
}

impl ApiScope {
    /// Every scope, in the order lists show them.
    pub const ALL: [ApiScope; 4] = [
        ApiScope::WalletsRead,
        ApiScope::WalletsCreate,
        ApiScope::WalletsSend,
        ApiScope::WalletsSign,
    ];

    /// The scope's name, as stored and as administrators write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::WalletsRead => "wallets:read",
            ApiScope::WalletsCreate => "wallets:create",
            ApiScope::WalletsSend => "wallets:send",
            ApiScope::WalletsSign => "wallets:sign",
        }
    }

    /// Every name, comma separated (for messages that list what is allowed).
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// The scopes named by `names`, sorted and without repeats.
    ///
    /// # Errors
    /// The first name that is no scope.
    pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<ApiScope>, UnknownScope> {
        let mut out = names
            .iter()
            .map(|n| n.as_ref().trim().parse())
            .collect::<Result<Vec<ApiScope>, _>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.chars().take(64).collect()))
    }
}

/// A name that is no [`ApiScope`] (cut to 64 characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

/// An API key as handed to the application once. Its `Debug` is redacted and it is not
/// `Serialize`: the one answer that shows it calls [`ApiKeySecret::expose`].
pub struct ApiKeySecret(OpaqueToken);

impl ApiKeySecret {
    /// Draws a new key from `entropy`.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        Self(OpaqueToken::generate(entropy))
    }

    /// Accepts a key as presented (`X-API-Key`). Only the shape is checked, so a malformed
    /// value is refused before any look-up.
    ///
    /// # Errors
    /// `None` when `s` cannot be one of our keys.
    pub fn parse(s: &str) -> Option<Self> {
        s.strip_prefix(KEY_PREFIX)
            .and_then(OpaqueToken::parse)
            .map(Self)
    }

    /// The key's text, for the one answer that carries it.
    pub fn expose(&self) -> String {
        format!("{KEY_PREFIX}{}", self.0.expose())
    }

    /// The hash the store keeps and looks keys up by.
    pub fn hash(&self) -> TokenHash {
        self.0.hash()
    }

    /// The public prefix shown in lists, e.g. `pk_live_Ab3x_Q`.
    pub fn public_prefix(&self) -> String {
        let random = self.0.expose();
        format!("{KEY_PREFIX}{}", &random[..PUBLIC_CHARS.min(random.len())])
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entropy::CountingEntropy;
    use sha2::{Digest, Sha256};

    #[test]
    fn scopes_parse_sorted_unique_and_refuse_unknown_names() {
        assert_eq!(
            ApiScope::parse_all(&["wallets:sign", " wallets:read", "wallets:sign"]).unwrap(),
            vec![ApiScope::WalletsRead, ApiScope::WalletsSign]
        );
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>().unwrap(), scope);
        }
        assert_eq!(
            ApiScope::parse_all(&["wallets:read", "wallets:admin"]),
            Err(UnknownScope("wallets:admin".into()))
        );
        assert!("Wallets:Read".parse::<ApiScope>().is_err());
        assert!("".parse::<ApiScope>().is_err());
        assert_eq!(
            ApiScope::names(),
            "wallets:read, wallets:create, wallets:send, wallets:sign"
        );
    }

    #[test]
    fn a_key_round_trips_and_hashes_to_the_sha256_of_its_random_part() {
        let e = CountingEntropy::default();
        let key = ApiKeySecret::generate(&e);
        let text = key.expose();
        assert!(text.starts_with(KEY_PREFIX));
        assert_eq!(text.len(), KEY_PREFIX.len() + 43);
        let again = ApiKeySecret::parse(&text).unwrap();
        assert!(key.hash().ct_eq(&again.hash()));
        let expected: [u8; 32] = Sha256::digest(&text.as_bytes()[KEY_PREFIX.len()..]).into();
        assert_eq!(key.hash().as_bytes(), &expected);
        assert!(!key.hash().ct_eq(&ApiKeySecret::generate(&e).hash()));
    }

    #[test]
    fn parse_refuses_other_shapes() {
        let random = "a".repeat(43);
        assert!(ApiKeySecret::parse(&format!("{KEY_PREFIX}{random}")).is_some());
        for bad in [
            String::new(),
            random.clone(),
            format!("pk_test_{random}"),
            format!("{KEY_PREFIX}{}", "a".repeat(42)),
            format!("{KEY_PREFIX}{random}a"),
            format!("{KEY_PREFIX}{}=", "a".repeat(42)),
            format!(" {KEY_PREFIX}{random}"),
        ] {
            assert!(ApiKeySecret::parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_public_prefix_is_short_and_debug_shows_nothing() {
        let key = ApiKeySecret::generate(&CountingEntropy::default());
        let text = key.expose();
        let prefix = key.public_prefix();
        assert_eq!(prefix.len(), KEY_PREFIX.len() + PUBLIC_CHARS);
        assert!(text.starts_with(&prefix));
        assert!(!format!("{key:?}").contains(&text[KEY_PREFIX.len()..]));
    }
}
