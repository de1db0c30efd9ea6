//! The issuer's key: the chain account that deploys the ledgers' contracts and is the only
//! one allowed to change a token on them. Kept in a file of its own in the data directory
//! (owner-only, hex), apart from the ledgers' Ed25519 keys and from custodial wallets.

use std::path::Path;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use zeroize::Zeroizing;

use super::EvmError;

/// The default file name of the issuer's key in the data directory.
pub const DEFAULT_FILE: &str = "ledger-evm-issuer.key";

/// The issuer's secp256k1 key. Its `Debug` shows the address only.
#[derive(Clone)]
pub struct IssuerKey(PrivateKeySigner);

impl IssuerKey {
    /// Reads the key at `path`.
    ///
    /// # Errors
    /// [`EvmError::Key`] for a missing or unreadable file (the path is named, the content never).
    pub fn load(path: &Path) -> Result<Self, EvmError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| EvmError::Key(format!("{}: {e}", path.display())))?,
        );
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut())
            .map_err(|_| EvmError::Key(format!("{}: not 64 hex digits", path.display())))?;
        Self::from_secret(&bytes)
            .map_err(|_| EvmError::Key(format!("{}: not a secp256k1 key", path.display())))
    }

    /// Reads the key at `path`, or makes one there (owner-only) if there is none.
    ///
    /// # Errors
    /// As [`IssuerKey::load`]; no randomness; the file could not be written.
    pub fn load_or_create(path: &Path) -> Result<Self, EvmError> {
        if path.exists() {
            return Self::load(path);
        }
        let fresh =
            portcullis_chain::CustodialKey::generate().map_err(|e| EvmError::Key(e.to_string()))?;
        let secret = fresh.secret();
        let text = Zeroizing::new(format!("{}\n", hex::encode(secret.as_ref())));
        crate::keys::write_new_private(path, text.as_bytes())
            .map_err(|e| EvmError::Key(e.to_string()))?;
        // Another process may have won the race to create it: read back what is there.
        Self::load(path)
    }

    /// The key with this secret scalar.
    ///
    /// # Errors
    /// [`EvmError::Key`] for zero or a scalar not below the group order.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, EvmError> {
        PrivateKeySigner::from_bytes(&B256::from(*secret))
            .map(Self)
            .map_err(|_| EvmError::Key("not a secp256k1 key".into()))
    }

    /// The issuer's address.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    /// A wallet signing with the key, for a provider that sends the issuer's transactions.
    pub fn wallet(&self) -> EthereumWallet {
        EthereumWallet::from(self.0.clone())
    }
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("address", &format_args!("{}", self.address()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_key_is_made_once_owner_only_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        let made = IssuerKey::load_or_create(&path).unwrap();
        let again = IssuerKey::load_or_create(&path).unwrap();
        assert_eq!(made.address(), again.address());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!format!("{made:?}").contains(text.trim()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert!(matches!(IssuerKey::load(&path), Err(EvmError::Key(_))));
    }
}
