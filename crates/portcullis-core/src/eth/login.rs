//! The wallet step of a login: one ceremony, two texts, two signatures.
//!
//! When a login reaches its wallet factor the server picks a nonce and remembers, with the
//! challenge, which wallet must answer and which session key the client will sign requests
//! with (its RFC 7638 thumbprint). From those fields alone it renders the two texts the wallet
//! signs: the Sign-In with Ethereum message (this server, this chain, this nonce, a short
//! expiry) and the session key delegation (the same nonce, the key's thumbprint, the
//! session's latest end). The answer carries only the two signatures, so nothing the client
//! writes is trusted but them. A ceremony is answered once: the caller drops it on any
//! verdict, and a new one has a new nonce.

use serde::{Deserialize, Serialize};

use super::delegation::{Delegation, DelegationError, Expected};
use super::siwe::{self, SiweChallenge, SiweError, SiweRules};
use super::{Address, WalletSignature, parse_address};

/// A pending (or proven) wallet step, kept with the login challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletCeremony {
    /// The account's bound wallet, EIP-55.
    pub address: String,
    /// The server's single-use nonce (both texts carry it).
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// When the SIWE message stops being good, unix seconds.
    pub expires_at: i64,
    /// The latest end of the session the delegation allows, unix seconds.
    pub session_expires_at: i64,
    /// RFC 7638 thumbprint of the session key.
    pub jkt: String,
    /// Set once both signatures verified; the login burns the AuthNFT when it completes.
    #[serde(default)]
    pub proven: bool,
    /// A browser's login: its tokens stay in the pages' HTTP-only cookies instead of being
    /// bound to the session key (a page cannot sign a DPoP proof for every navigation).
    #[serde(default)]
    pub cookie: bool,
}

/// The two texts a wallet signs for one ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletTexts {
    /// The Sign-In with Ethereum message.
    pub message: String,
    /// The session key delegation.
    pub delegation: String,
}

/// Why a wallet answer was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalletLoginError {
    /// The SIWE message's check failed (wrong key, expired, ...).
    #[error(transparent)]
    Siwe(#[from] SiweError),
    /// The delegation's check failed.
    #[error(transparent)]
    Delegation(#[from] DelegationError),
    /// The ceremony's stored address does not parse (never for a ceremony this module made).
    #[error("the wallet step's address is unreadable")]
    Address,
}

impl WalletCeremony {
    fn wallet(&self) -> Result<Address, WalletLoginError> {
        parse_address(&self.address).map_err(|_| WalletLoginError::Address)
    }

    /// The texts to sign, rendered from the ceremony and the server's rules.
    ///
    /// # Errors
    /// A field that cannot be rendered (a time out of range, a statement with a newline).
    pub fn texts(
        &self,
        rules: &SiweRules,
        statement: &str,
    ) -> Result<WalletTexts, WalletLoginError> {
        let wallet = self.wallet()?;
        let message = siwe::challenge_message(
            rules,
            &SiweChallenge {
                address: wallet,
                statement: statement.to_owned(),
                nonce: self.nonce.clone(),
                issued_at: self.issued_at,
                expires_at: self.expires_at,
            },
        )?;
        let delegation = Delegation {
            domain: rules.domain.clone(),
            wallet,
            session_key: self.jkt.clone(),
            nonce: self.nonce.clone(),
            issued_at: self.issued_at,
            expires_at: self.session_expires_at,
        }
        .message()?;
        Ok(WalletTexts {
            message,
            delegation,
        })
    }

    /// Checks both signatures at `now`: the SIWE message by the ceremony's wallet (with every
    /// rule of [`siwe::verify`]) and the delegation of the ceremony's session key by the
    /// same wallet.
    ///
    /// # Errors
    /// The first check that failed.
    pub fn verify(
        &self,
        rules: &SiweRules,
        statement: &str,
        signature: &WalletSignature,
        delegation_signature: &WalletSignature,
        now: i64,
    ) -> Result<(), WalletLoginError> {
        let texts = self.texts(rules, statement)?;
        siwe::verify(rules, &texts.message, signature, &self.nonce, now)?;
        let expected = Expected {
            domain: &rules.domain,
            wallet: self.wallet()?,
            session_key: &self.jkt,
            nonce: &self.nonce,
            skew: rules.skew,
        };
        Delegation::verify(&texts.delegation, delegation_signature, &expected, now)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use k256::ecdsa::SigningKey;

    use super::*;
    use crate::eth::{address_of, checksummed, sign};

    const NOW: i64 = 1_796_000_000;

    fn rules() -> SiweRules {
        SiweRules {
            domain: "auth.example.com".into(),
            uri: "https://auth.example.com".into(),
            chain_id: 1,
            max_age: 300,
            skew: 60,
        }
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32].into()).unwrap()
    }

    fn ceremony(wallet: &SigningKey) -> WalletCeremony {
        WalletCeremony {
            address: checksummed(&address_of(wallet.verifying_key())),
            nonce: "a1b2c3d4e5f6a7b8c9d0e1f2".into(),
            issued_at: NOW,
            expires_at: NOW + 300,
            session_expires_at: NOW + 86_400,
            jkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
            proven: false,
            cookie: false,
        }
    }

    fn signed(c: &WalletCeremony, by: &SigningKey) -> (WalletSignature, WalletSignature) {
        let texts = c.texts(&rules(), "Sign in to Portcullis.").unwrap();
        (
            sign(by, texts.message.as_bytes()).unwrap(),
            sign(by, texts.delegation.as_bytes()).unwrap(),
        )
    }

    #[test]
    fn the_wallet_s_two_signatures_pass() {
        let wallet = key(7);
        let c = ceremony(&wallet);
        let (s, d) = signed(&c, &wallet);
        let texts = c.texts(&rules(), "Sign in to Portcullis.").unwrap();
        assert!(texts.message.contains(&c.nonce) && texts.delegation.contains(&c.nonce));
        assert!(texts.delegation.contains(&c.jkt));
        assert_eq!(
            c.verify(&rules(), "Sign in to Portcullis.", &s, &d, NOW + 10),
            Ok(())
        );
    }

    #[test]
    fn another_key_swapped_signatures_and_late_answers_fail() {
        let wallet = key(7);
        let c = ceremony(&wallet);
        let (s, d) = signed(&c, &wallet);
        let (other_s, other_d) = signed(&c, &key(8));
        let st = "Sign in to Portcullis.";
        assert!(matches!(
            c.verify(&rules(), st, &other_s, &d, NOW + 10),
            Err(WalletLoginError::Siwe(_))
        ));
        assert!(matches!(
            c.verify(&rules(), st, &s, &other_d, NOW + 10),
            Err(WalletLoginError::Delegation(_))
        ));
        // Each signature signs its own text only.
        assert!(c.verify(&rules(), st, &d, &s, NOW + 10).is_err());
        // Past the message's expiry.
        assert!(matches!(
            c.verify(&rules(), st, &s, &d, NOW + 301),
            Err(WalletLoginError::Siwe(_))
        ));
        // A ceremony for another session key is not answered by this delegation.
        let mut other_key = c.clone();
        other_key.jkt = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into();
        assert!(matches!(
            other_key.verify(&rules(), st, &s, &d, NOW + 10),
            Err(WalletLoginError::Delegation(_))
        ));
        // Nor a ceremony with a new nonce by the old signatures.
        let mut renewed = c.clone();
        renewed.nonce = "ffffffffffffffffffffffff".into();
        assert!(renewed.verify(&rules(), st, &s, &d, NOW + 10).is_err());
        // Another chain.
        let mut chain = rules();
        chain.chain_id = 5;
        assert!(c.verify(&chain, st, &s, &d, NOW + 10).is_err());
    }
}
