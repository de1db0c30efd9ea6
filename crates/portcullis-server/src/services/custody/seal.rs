//! A custodial key at rest.
//!
//! The key is encrypted (AES-256-GCM) under a key that needs two things: the wallet's data
//! key, which the keyring wraps, and a key derived from the user's password with argon2id
//! (its salt and cost stored beside it). The server alone, or a copy of its database and
//! keyring, cannot open a wallet; the password alone cannot either. The associated data
//! binds the ciphertext to its wallet.

use portcullis_chain::CustodialKey;
use portcullis_core::password::{Argon2Params, Password};
use portcullis_store::keyring::{KeyringError, WrappedKey};
use portcullis_store::model::CustodialWalletRecord;
use zeroize::Zeroizing;

use crate::services::error::{CustodyRefusal, ServiceError};
use crate::services::passwords;
use crate::state::AppState;

/// HKDF `info` of the bound key.
const INFO: &[u8] = b"portcullis custodial wallet key v1";

/// What the store keeps of a sealed key.
pub(super) struct Sealed {
    pub(super) sealed_key: Vec<u8>,
    pub(super) wrapped_key: WrappedKey,
    pub(super) kdf_salt: Vec<u8>,
    pub(super) kdf_params: String,
}

/// Re-wraps every wallet's data key under `keyring`'s current master (after
/// `portcullis keys rotate-master`); the sealed keys themselves do not change, and the
/// password half is untouched. Returns how many were re-wrapped.
///
/// # Errors
/// A data key that does not unwrap; storage failure.
pub async fn rewrap_keys(
    store: &portcullis_store::Store,
    keyring: &portcullis_store::keyring::Keyring,
) -> Result<usize, ServiceError> {
    let current = keyring.current_version();
    let mut rewrapped = 0;
    for (id, wrapped) in store.custody.wallet_keys().await? {
        if wrapped.master_version == current {
            continue;
        }
        let fresh = keyring
            .rewrap(&wrapped, &aad(&id))
            .map_err(|e| ServiceError::unexpected_from("re-wrapping a wallet's data key", e))?;
        store.custody.replace_wallet_key(&id, &fresh).await?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

fn aad(wallet_id: &str) -> Vec<u8> {
    format!("custodial-wallet:{wallet_id}").into_bytes()
}

/// Seals `key` for wallet `wallet_id` with the keyring and `password`.
pub(super) async fn seal(
    state: &AppState,
    wallet_id: &str,
    key: &CustodialKey,
    password: Password,
) -> Result<Sealed, ServiceError> {
    let salt = state.random::<16>();
    let (pw_key, params) = passwords::derive_key(state, password, salt, None).await?;
    let aad = aad(wallet_id);
    let keyring = state.keyring();
    let (data_key, wrapped_key) = keyring
        .new_data_key(&aad)
        .map_err(|e| ServiceError::unexpected_from("making a wallet's data key", e))?;
    let sealed_key = data_key
        .bound_with(&pw_key, INFO)
        .encrypt(key.secret().as_slice(), &aad)
        .map_err(|e| ServiceError::unexpected_from("sealing a wallet key", e))?;
    let kdf_params = serde_json::to_string(&params)
        .map_err(|e| ServiceError::unexpected_from("writing argon2 parameters", e))?;
    Ok(Sealed {
        sealed_key,
        wrapped_key,
        kdf_salt: salt.to_vec(),
        kdf_params,
    })
}

/// Opens a wallet's key with `password`.
///
/// # Errors
/// [`CustodyRefusal::WrongPassword`] when the password does not open it.
pub(super) async fn open(
    state: &AppState,
    wallet: &CustodialWalletRecord,
    password: Password,
) -> Result<CustodialKey, ServiceError> {
    let salt: [u8; 16] = wallet
        .kdf_salt
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::unexpected("a wallet's salt is not 16 bytes"))?;
    let params: Argon2Params = serde_json::from_str(&wallet.kdf_params)
        .map_err(|e| ServiceError::unexpected_from("reading a wallet's argon2 parameters", e))?;
    let (pw_key, _) = passwords::derive_key(state, password, salt, Some(params)).await?;
    let aad = aad(&wallet.id);
    let data_key = state
        .keyring()
        .unwrap_key(&wallet.wrapped_key, &aad)
        .map_err(|e| ServiceError::unexpected_from("unwrapping a wallet's data key", e))?;
    let secret = match data_key
        .bound_with(&pw_key, INFO)
        .decrypt(&wallet.sealed_key, &aad)
    {
        Ok(plain) => Zeroizing::new(plain),
        Err(KeyringError::Decrypt) => {
            return Err(ServiceError::Custody(CustodyRefusal::WrongPassword));
        }
        Err(e) => return Err(ServiceError::unexpected_from("opening a wallet key", e)),
    };
    let secret: &[u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::unexpected("a wallet key is not 32 bytes"))?;
    let key = CustodialKey::from_secret(secret)
        .map_err(|_| ServiceError::unexpected("a wallet key is not a secp256k1 key"))?;
    if key.address().to_string() != wallet.address {
        return Err(ServiceError::unexpected(
            "a wallet key does not match its address",
        ));
    }
    Ok(key)
}
