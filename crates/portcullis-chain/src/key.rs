//! A custodial wallet's secp256k1 key, generated on the server.

use alloy::primitives::{Address, B256};
use alloy::signers::SignerSync as _;
use alloy::signers::local::PrivateKeySigner;
use zeroize::{Zeroize as _, Zeroizing};

/// Why a key could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random source failed.
    #[error("no randomness available for a new key")]
    Randomness,
    /// 32 bytes that are not a valid secp256k1 scalar (zero or not below the group order).
    #[error("not a valid secp256k1 private key")]
    Invalid,
    /// Signing failed (it does not for valid keys; kept typed rather than panicking).
    #[error("signing failed")]
    Signing,
}

/// A secp256k1 private key held by the server for one custodial wallet.
///
/// The key is never serialised and its `Debug` names only the address; the secret comes out
/// only through [`CustodialKey::secret`], for sealing, in a buffer wiped on drop. The signer
/// inside (k256's `SigningKey`) wipes itself on drop too.
pub struct CustodialKey(PrivateKeySigner);

impl CustodialKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        // A random 32-byte string is a valid scalar except with probability ~2^-128; draw
        // again rather than fail in that case.
        for _ in 0..4 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut()).map_err(|_| KeyError::Randomness)?;
            if let Ok(key) = Self::from_secret(&bytes) {
                return Ok(key);
            }
        }
        Err(KeyError::Randomness)
    }

    /// The key with this secret scalar (as [`CustodialKey::secret`] gave it).
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, KeyError> {
        let mut b = B256::from(*secret);
        let signer = PrivateKeySigner::from_bytes(&b).map_err(|_| KeyError::Invalid);
        b.0.zeroize();
        signer.map(Self)
    }

    /// The secret scalar, for sealing it at rest.
    pub fn secret(&self) -> Zeroizing<[u8; 32]> {
        let mut b = self.0.to_bytes();
        let out = Zeroizing::new(b.0);
        b.0.zeroize();
        out
    }

    /// The wallet's Ethereum address.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    /// An EIP-191 (`personal_sign`) signature of `message`: 65 bytes `r ‖ s ‖ v`, `v` 27/28,
    /// as dApps' log-in libraries expect.
    pub fn sign_message(&self, message: &[u8]) -> Result<[u8; 65], KeyError> {
        let sig = self
            .0
            .sign_message_sync(message)
            .map_err(|_| KeyError::Signing)?;
        Ok(sig.as_bytes())
    }

    pub(crate) fn signer(&self) -> &PrivateKeySigner {
        &self.0
    }
}

impl std::fmt::Debug for CustodialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodialKey")
            .field("address", &format_args!("{}", self.address()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Signature;

    /// Hardhat/anvil account #0: a public test key, so its address is known.
    const ACCOUNT0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn account0() -> CustodialKey {
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = u8::from_str_radix(&ACCOUNT0[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        CustodialKey::from_secret(&secret).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn known_key_has_its_known_address_and_round_trips() {
        let key = account0();
        assert_eq!(
            key.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let again = CustodialKey::from_secret(&key.secret()).unwrap_or_else(|_| unreachable!());
        assert_eq!(again.address(), key.address());
    }

    #[test]
    fn eip191_signature_matches_the_one_other_libraries_make() {
        // DEPENDENCIES.md: "hello world" by account #0 signs the same in ethers, viem and
        // eth-account; recovering it must give the signer's address.
        let key = account0();
        let sig = key
            .sign_message(b"hello world")
            .unwrap_or_else(|_| unreachable!());
        let parsed = Signature::try_from(&sig[..]).unwrap_or_else(|_| unreachable!());
        let recovered = parsed
            .recover_address_from_msg(b"hello world")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(recovered, key.address());
        assert!(sig[64] == 27 || sig[64] == 28);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = account0();
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains(ACCOUNT0));
        assert!(shown.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    }

    #[test]
    fn zero_is_not_a_key_and_generated_keys_differ() {
        assert!(matches!(
            CustodialKey::from_secret(&[0u8; 32]),
            Err(KeyError::Invalid)
        ));
        let a = CustodialKey::generate().unwrap_or_else(|_| unreachable!());
        let b = CustodialKey::generate().unwrap_or_else(|_| unreachable!());
        assert_ne!(a.address(), b.address());
    }
}
