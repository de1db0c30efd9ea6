//! The primitives under the keyring: per-record data keys and wrapped keys, AES-256-GCM
//! sealing and opening, HKDF key derivation, HMAC and randomness.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{FIELD_FORMAT, KEY_LEN, Key, KeyringError, NONCE_LEN, TAG_LEN};

/// A data key wrapped under a master key: `bytes` = 12-byte nonce ‖ ciphertext ‖ tag.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The master key it is wrapped under (rotation re-wraps it under a newer one).
    pub master_version: u32,
    /// Nonce, ciphertext and tag.
    pub bytes: Vec<u8>,
}

/// A per-record AES-256-GCM key; zeroized on drop, never printed.
pub struct DataKey(pub(super) Key);

impl DataKey {
    /// Encrypts a field with AES-256-GCM and a random 96-bit nonce. Output = 1-byte format
    /// (1) ‖ 12-byte nonce ‖ ciphertext ‖ tag. `aad` must bind the field to its record and
    /// column, e.g. `b"account:<id>:email"`.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Random`] or [`KeyringError::Encrypt`].
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        blob.push(FIELD_FORMAT);
        seal_into(&self.0, plaintext, aad, &mut blob)?;
        Ok(blob)
    }

    /// Decrypts a blob made by [`DataKey::encrypt`]. Wrap the result in `Zeroizing` when it
    /// is a secret.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Format`] for an unknown format or a short blob,
    /// [`KeyringError::Decrypt`] if the key or `aad` differs or the blob was altered.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
        match blob.split_first() {
            Some((&FIELD_FORMAT, body)) => open(&self.0, body, aad),
            Some((&format, _)) => Err(KeyringError::Format(format!(
                "unknown field ciphertext format {format}"
            ))),
            None => Err(KeyringError::Format("field ciphertext is empty".into())),
        }
    }
}

impl DataKey {
    /// A key that needs both this data key and `second` (another 256-bit secret the server
    /// does not keep, such as a key derived from the user's password): HKDF-SHA256 with
    /// `second` as the salt and this key as the input, for `info`'s purpose. Whoever holds
    /// only the keyring, or only `second`, cannot compute it.
    #[must_use]
    pub fn bound_with(&self, second: &[u8; 32], info: &[u8]) -> DataKey {
        let mut out: Key = Zeroizing::new([0; KEY_LEN]);
        #[expect(
            clippy::expect_used,
            reason = "32 bytes is far below HKDF-SHA256's output limit"
        )]
        Hkdf::<Sha256>::new(Some(second.as_slice()), self.0.as_slice())
            .expand(info, out.as_mut())
            .expect("HKDF-SHA256 can expand to 32 bytes");
        DataKey(out)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey")
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("master_version", &self.master_version)
            .field("len", &self.bytes.len())
            .finish()
    }
}

pub(super) fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// Appends nonce ‖ ciphertext ‖ tag to `out`.
pub(super) fn seal_into(
    key: &Key,
    plaintext: &[u8],
    aad: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), KeyringError> {
    let nonce = random_array::<NONCE_LEN>()?;
    let ciphertext = cipher(key)
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| KeyringError::Encrypt)?;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(())
}

/// Opens nonce ‖ ciphertext ‖ tag.
pub(super) fn open(key: &Key, body: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(KeyringError::Format("ciphertext is too short".into()));
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    let nonce = to_array::<NONCE_LEN>(nonce)?;
    cipher(key)
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| KeyringError::Decrypt)
}

/// `domain` ‖ 0x00 ‖ master version (big-endian) ‖ caller AAD: a wrapped key or sealed
/// secret is bound to its purpose and master version as well as to its owner.
pub(super) fn tagged_aad(domain: &[u8], version: u32, aad: &[u8]) -> Vec<u8> {
    [domain, &[0], &version.to_be_bytes(), aad].concat()
}

/// A purpose-specific key from a master key (HKDF-SHA256, no salt: masters are uniform).
pub(super) fn derive(master: &Key, info: &[u8]) -> Key {
    let mut out: Key = Zeroizing::new([0; KEY_LEN]);
    #[expect(
        clippy::expect_used,
        reason = "32 bytes is far below HKDF-SHA256's output limit"
    )]
    Hkdf::<Sha256>::new(None, master.as_slice())
        .expand(info, out.as_mut())
        .expect("HKDF-SHA256 can expand to 32 bytes");
    out
}

pub(super) fn hmac_sha256(key: &Key) -> Hmac<Sha256> {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice()).expect("HMAC accepts any key length")
}

pub(super) fn random_key() -> Result<Key, KeyringError> {
    let mut key: Key = Zeroizing::new([0; KEY_LEN]);
    getrandom::fill(key.as_mut()).map_err(|_| KeyringError::Random)?;
    Ok(key)
}

pub(super) fn random_array<const N: usize>() -> Result<[u8; N], KeyringError> {
    let mut out = [0; N];
    getrandom::fill(&mut out).map_err(|_| KeyringError::Random)?;
    Ok(out)
}

pub(super) fn to_array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], KeyringError> {
    bytes
        .try_into()
        .map_err(|_| KeyringError::Format("field has the wrong length".into()))
}
