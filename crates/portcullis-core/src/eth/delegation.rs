//! The delegation: a wallet hands a login's session to an ephemeral session key.
//!
//! The hardware wallet signs in once; every request after that is signed by a key the
//! client holds in memory (RFC 9449 DPoP), so the wallet is not asked per request. The
//! wallet binds that key to itself by signing this text (EIP-191), which the server checks
//! before it mints the session's ReqNFT with the key's RFC 7638 thumbprint in it:
//!
//! ```text
//! Portcullis session key delegation
//! Domain: auth.example.com
//! Wallet: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
//! Session key: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
//! Nonce: 8f2kq9r4x1m7
//! Issued At: 2026-12-05T17:00:00Z
//! Expiration Time: 2026-12-05T18:00:00Z
//! ```
//!
//! The text is parsed field by field and must be exactly the rendering of what was parsed.

use super::{
    Address, EthError, WalletSignature, checksummed, parse_address, parse_rfc3339, rfc3339,
};

/// The first line of every delegation.
pub const TITLE: &str = "Portcullis session key delegation";

/// What a delegation says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The server's domain (as in its SIWE messages).
    pub domain: String,
    /// The wallet that delegates.
    pub wallet: Address,
    /// The session key's RFC 7638 JWK thumbprint (base64url, 43 characters).
    pub session_key: String,
    /// The login's nonce (the same one its SIWE message carries).
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; the session ends by then at the latest.
    pub expires_at: i64,
}

/// Why a delegation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DelegationError {
    /// Not the text above.
    #[error("not a session key delegation: {0}")]
    Malformed(&'static str),
    /// A field differs from what the server expected (domain, wallet, key or nonce).
    #[error("the delegation's {0} is not this login's")]
    Mismatch(&'static str),
    /// Expired, or issued in the future.
    #[error("the delegation is not valid now")]
    Time,
    /// The signature is malformed or by another key than the wallet's.
    #[error(transparent)]
    Signature(#[from] EthError),
}

impl Delegation {
    /// The text the wallet signs.
    ///
    /// # Errors
    /// [`DelegationError::Malformed`] for a time out of RFC 3339's range or a field with a
    /// newline.
    pub fn message(&self) -> Result<String, DelegationError> {
        let issued = rfc3339(self.issued_at).ok_or(DelegationError::Malformed("issued at"))?;
        let expires = rfc3339(self.expires_at).ok_or(DelegationError::Malformed("expiration"))?;
        for field in [&self.domain, &self.session_key, &self.nonce] {
            if field.is_empty() || field.contains(['\n', '\r']) {
                return Err(DelegationError::Malformed(
                    "a field is empty or has a newline",
                ));
            }
        }
        Ok(format!(
            "{TITLE}\nDomain: {}\nWallet: {}\nSession key: {}\nNonce: {}\nIssued At: {issued}\n\
             Expiration Time: {expires}",
            self.domain,
            checksummed(&self.wallet),
            self.session_key,
            self.nonce
        ))
    }

    /// Reads a delegation text back.
    ///
    /// # Errors
    /// [`DelegationError::Malformed`] unless `text` is exactly [`Delegation::message`] of
    /// what it says.
    pub fn parse(text: &str) -> Result<Self, DelegationError> {
        if text.len() > 1024 {
            return Err(DelegationError::Malformed("too long"));
        }
        let mut lines = text.split('\n');
        if lines.next() != Some(TITLE) {
            return Err(DelegationError::Malformed("title"));
        }
        let mut field = |tag: &'static str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(tag))
                .ok_or(DelegationError::Malformed(tag))
        };
        let domain = field("Domain: ")?.to_owned();
        let wallet =
            parse_address(field("Wallet: ")?).map_err(|_| DelegationError::Malformed("wallet"))?;
        let session_key = field("Session key: ")?.to_owned();
        let nonce = field("Nonce: ")?.to_owned();
        let issued_at =
            parse_rfc3339(field("Issued At: ")?).ok_or(DelegationError::Malformed("issued at"))?;
        let expires_at = parse_rfc3339(field("Expiration Time: ")?)
            .ok_or(DelegationError::Malformed("expiration"))?;
        let delegation = Self {
            domain,
            wallet,
            session_key,
            nonce,
            issued_at,
            expires_at,
        };
        if lines.next().is_some() || delegation.message()? != text {
            return Err(DelegationError::Malformed("not in canonical form"));
        }
        Ok(delegation)
    }

    /// Checks `text`, signed by `signature`, against what this login expects: the server's
    /// `domain`, the `wallet` that signed in, the `session_key` the client presents and the
    /// login's `nonce`, at `now` (allowing `skew` seconds of a fast wallet clock).
    ///
    /// # Errors
    /// The first [`DelegationError`] found.
    pub fn verify(
        text: &str,
        signature: &WalletSignature,
        expected: &Expected<'_>,
        now: i64,
    ) -> Result<Self, DelegationError> {
        let delegation = Self::parse(text)?;
        if !delegation.domain.eq_ignore_ascii_case(expected.domain) {
            return Err(DelegationError::Mismatch("domain"));
        }
        if delegation.wallet != expected.wallet {
            return Err(DelegationError::Mismatch("wallet"));
        }
        if delegation.session_key != expected.session_key {
            return Err(DelegationError::Mismatch("session key"));
        }
        if delegation.nonce != expected.nonce {
            return Err(DelegationError::Mismatch("nonce"));
        }
        if delegation.issued_at > now + expected.skew || delegation.expires_at <= now {
            return Err(DelegationError::Time);
        }
        signature.verify(text.as_bytes(), delegation.wallet)?;
        Ok(delegation)
    }
}

/// What a login expects a delegation to say.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The server's SIWE domain.
    pub domain: &'a str,
    /// The wallet that signed the login's SIWE message.
    pub wallet: Address,
    /// The thumbprint of the key the client will sign its requests with.
    pub session_key: &'a str,
    /// The login's nonce.
    pub nonce: &'a str,
    /// Seconds a wallet's clock may run ahead.
    pub skew: i64,
}
