//! Personal data of an account, sealed and opened with the account's data key.
//!
//! Each field is encrypted with AES-256-GCM under the account's own data key, with the account
//! id and field name as associated data, so a ciphertext copied to another row or column fails
//! to decrypt. The e-mail's blind index comes from the keyring's index key.

use portcullis_core::ids::AccountId;

use crate::keyring::{DataKey, Keyring, KeyringError};

/// Blind-index domain for e-mail addresses.
pub const EMAIL_INDEX: &str = "email";

fn aad(id: AccountId, field: &str) -> Vec<u8> {
    format!("account:{id}:{field}").into_bytes()
}

/// Associated data binding a data key to its account.
pub fn key_aad(id: AccountId) -> Vec<u8> {
    aad(id, "data-key")
}

/// Encrypts one field of an account.
///
/// # Errors
/// Encryption failure.
pub fn seal(
    key: &DataKey,
    id: AccountId,
    field: &str,
    value: &str,
) -> Result<Vec<u8>, KeyringError> {
    key.encrypt(value.as_bytes(), &aad(id, field))
}

/// Decrypts one field of an account.
///
/// # Errors
/// Wrong key, wrong account or field, or a tampered ciphertext.
pub fn open(
    key: &DataKey,
    id: AccountId,
    field: &str,
    blob: &[u8],
) -> Result<String, KeyringError> {
    let bytes = key.decrypt(blob, &aad(id, field))?;
    String::from_utf8(bytes).map_err(|_| KeyringError::Decrypt)
}

/// The e-mail's blind index.
pub fn email_index(keyring: &Keyring, normalised_email: &str) -> Vec<u8> {
    keyring.blind_index(EMAIL_INDEX, normalised_email).to_vec()
}
