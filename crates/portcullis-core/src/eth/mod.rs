//! Ethereum wallet identity: addresses, EIP-191 signatures, Sign-In with Ethereum (EIP-4361)
//! and the two messages a wallet signs after it signed in (the session-key delegation and
//! the presence answers).
//!
//! A wallet is a secp256k1 key and is named by its address; it proves itself by signing a
//! text as EIP-191 `personal_sign` does (`keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖
//! text)`) and the verifier recovers the address from the signature. Every text a wallet
//! signs here is built by this module and parsed back strictly, so the server, the software
//! wallet and the tests agree on the bytes, and any standard wallet (a browser extension,
//! ethers, eth-account) can sign them.

pub mod delegation;
pub mod login;
pub mod presence;
pub mod siwe;

use std::fmt;
use std::str::FromStr;

pub use alloy_primitives::Address;

/// A 65-byte recoverable ECDSA signature (`r ‖ s ‖ v`, `v` as 27/28 or 0/1), as wallets
/// return it from `personal_sign`: `0x` and 130 hex digits on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WalletSignature([u8; 65]);

/// Why a wallet signature or address was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// Not `0x` and 130 hex digits, or `v` is not a recovery id.
    #[error("the signature is not 65 bytes of r, s and v")]
    MalformedSignature,
    /// The signature does not recover to a public key for this text.
    #[error("the signature does not verify")]
    BadSignature,
    /// Recovery gave another address than the one expected.
    #[error("the message was signed by another key")]
    WrongSigner,
    /// Not `0x` and 40 hex digits, or mixed case that is not its EIP-55 checksum.
    #[error("not an Ethereum address")]
    MalformedAddress,
}

impl WalletSignature {
    /// The signature from its 65 bytes.
    pub fn from_bytes(bytes: [u8; 65]) -> Self {
        Self(bytes)
    }

    /// The 65 bytes, `v` as the wallet gave it.
    pub fn to_bytes(&self) -> [u8; 65] {
        self.0
    }

    /// The address whose key signed `text` under EIP-191.
    ///
    /// # Errors
    /// [`EthError::MalformedSignature`] for a `v` that is no recovery id,
    /// [`EthError::BadSignature`] when no key recovers.
    pub fn recover(&self, text: &[u8]) -> Result<Address, EthError> {
        let signature = alloy_primitives::Signature::from_raw_array(&self.0)
            .map_err(|_| EthError::MalformedSignature)?;
        signature
            .recover_address_from_msg(text)
            .map_err(|_| EthError::BadSignature)
    }

    /// Checks that `signer` signed `text`.
    ///
    /// # Errors
    /// As [`WalletSignature::recover`], and [`EthError::WrongSigner`].
    pub fn verify(&self, text: &[u8], signer: Address) -> Result<(), EthError> {
        if self.recover(text)? == signer {
            Ok(())
        } else {
            Err(EthError::WrongSigner)
        }
    }
}

impl FromStr for WalletSignature {
    type Err = EthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let mut bytes = [0u8; 65];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| EthError::MalformedSignature)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for WalletSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for WalletSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletSignature({self})")
    }
}

/// Signs `text` as EIP-191 `personal_sign` does, with `v` as 27/28: what a wallet (ours, or
/// the test's) answers.
///
/// # Errors
/// [`EthError::BadSignature`] if the key cannot sign (it always can; k256 reports it).
pub fn sign(key: &k256::ecdsa::SigningKey, text: &[u8]) -> Result<WalletSignature, EthError> {
    let digest = alloy_primitives::eip191_hash_message(text);
    let (signature, recovery) = key
        .sign_prehash_recoverable(digest.as_slice())
        .map_err(|_| EthError::BadSignature)?;
    let mut bytes = [0u8; 65];
    bytes[..64].copy_from_slice(&signature.to_bytes());
    bytes[64] = 27 + recovery.to_byte();
    Ok(WalletSignature(bytes))
}

/// The address of `key`'s public key: the last 20 bytes of the keccak-256 of its
/// uncompressed point.
pub fn address_of(key: &k256::ecdsa::VerifyingKey) -> Address {
    Address::from_public_key(key)
}

/// Parses an address: `0x` and 40 hex digits, all lower case, all upper case, or with a
/// correct EIP-55 checksum (a mixed-case address with a wrong checksum is a typo, refused).
///
/// # Errors
/// [`EthError::MalformedAddress`].
pub fn parse_address(s: &str) -> Result<Address, EthError> {
    let digits = s.strip_prefix("0x").ok_or(EthError::MalformedAddress)?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(EthError::MalformedAddress);
    }
    let lower = digits.bytes().all(|b| !b.is_ascii_uppercase());
    let upper = digits.bytes().all(|b| !b.is_ascii_lowercase());
    if lower || upper {
        Address::from_str(digits).map_err(|_| EthError::MalformedAddress)
    } else {
        Address::parse_checksummed(s, None).map_err(|_| EthError::MalformedAddress)
    }
}

/// The address as stored and shown: EIP-55 mixed case.
pub fn checksummed(address: &Address) -> String {
    address.to_checksum(None)
}

/// `unix` as an RFC 3339 UTC stamp (`2026-12-05T17:00:00Z`), for years 1970–9999 only.
pub fn rfc3339(unix: i64) -> Option<String> {
    // 9999-12-31T23:59:59Z: later years have no four-digit RFC 3339 spelling.
    const LAST: i64 = 253_402_300_799;
    if !(0..=LAST).contains(&unix) {
        return None;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The unix seconds of an RFC 3339 stamp written by [`rfc3339`] (UTC, whole seconds).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let unix = at.unix_timestamp();
    (rfc3339(unix).as_deref() == Some(s)).then_some(unix)
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "test vectors are constants")]
mod tests;
