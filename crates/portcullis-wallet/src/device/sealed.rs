//! The key at rest: a secp256k1 key sealed with AES-256-GCM under a key derived from the
//! PIN by Argon2id.
//!
//! The PIN is short, so the KDF's cost and the wipe after ten wrong PINs are what protect
//! the key from a guess; the AEAD tag is how a wrong PIN is recognised (no PIN hash is
//! stored beside the key). The parameters are kept with the sealed key, so a device can
//! raise them later without breaking old files, and bounded when read, so an edited file
//! cannot make the wallet spend a gigabyte on each try.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Binds the ciphertext to its purpose (and to this file format's version).
const AAD: &[u8] = b"portcullis-wallet sealed secp256k1 key v1";

/// Argon2id costs, as stored beside the sealed key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// OWASP's first Argon2id choice is 46 MiB, 1 pass; a wallet's PIN is weaker than a
    /// password and is tried rarely, so it pays more: 64 MiB, 3 passes.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    fn argon2(self) -> Result<argon2::Argon2<'static>, SealError> {
        let bounded = (8..=1024 * 1024).contains(&self.m_kib)
            && (1..=16).contains(&self.t)
            && (1..=4).contains(&self.p);
        if !bounded {
            return Err(SealError::Params);
        }
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| SealError::Params)?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

/// The sealed key and what opening it needs besides the PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKey {
    /// Argon2id costs.
    pub kdf: KdfParams,
    /// Argon2id salt (16 random bytes), hex.
    pub salt: String,
    /// AES-GCM nonce (12 random bytes), hex.
    pub nonce: String,
    /// The 32-byte scalar encrypted, and the 16-byte tag, hex.
    pub ciphertext: String,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be sealed or opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The PIN is wrong (the tag did not verify).
    #[error("wrong PIN")]
    WrongPin,
    /// Argon2 costs out of bounds.
    #[error("key derivation parameters out of bounds")]
    Params,
    /// A field is not the hex of the expected length, or the opened key is no scalar.
    #[error("the sealed key is damaged")]
    Damaged,
    /// The operating system gave no random bytes.
    #[error("no randomness available")]
    Entropy,
}

fn derive(pin: &[u8], salt: &[u8], kdf: KdfParams) -> Result<Aes256Gcm, SealError> {
    let mut key = Zeroizing::new([0u8; 32]);
    kdf.argon2()?
        .hash_password_into(pin, salt, key.as_mut())
        .map_err(|_| SealError::Params)?;
    Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| SealError::Params)
}

/// Seals `key` under `pin`, with a fresh salt and nonce.
///
/// # Errors
/// [`SealError::Params`] for costs out of bounds, [`SealError::Entropy`].
pub fn seal(key: &SigningKey, pin: &[u8], kdf: KdfParams) -> Result<SealedKey, SealError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut salt).map_err(|_| SealError::Entropy)?;
    getrandom::fill(&mut nonce).map_err(|_| SealError::Entropy)?;
    let mut scalar = Zeroizing::new([0u8; 32]);
    scalar.copy_from_slice(&key.to_bytes());
    let ciphertext = derive(pin, &salt, kdf)?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: scalar.as_slice(),
                aad: AAD,
            },
        )
        .map_err(|_| SealError::Damaged)?;
    Ok(SealedKey {
        kdf,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

/// Opens `sealed` with `pin`.
///
/// # Errors
/// [`SealError::WrongPin`], or [`SealError::Params`] / [`SealError::Damaged`] for a file
/// that was edited.
pub fn open(sealed: &SealedKey, pin: &[u8]) -> Result<SigningKey, SealError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    let mut ciphertext = [0u8; 48];
    hex::decode_to_slice(&sealed.salt, &mut salt).map_err(|_| SealError::Damaged)?;
    hex::decode_to_slice(&sealed.nonce, &mut nonce).map_err(|_| SealError::Damaged)?;
    hex::decode_to_slice(&sealed.ciphertext, &mut ciphertext).map_err(|_| SealError::Damaged)?;
    let scalar = Zeroizing::new(
        derive(pin, &salt, sealed.kdf)?
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| SealError::WrongPin)?,
    );
    SigningKey::from_slice(&scalar).map_err(|_| SealError::Damaged)
}

/// A fresh random key.
///
/// # Errors
/// [`SealError::Entropy`].
pub fn generate() -> Result<SigningKey, SealError> {
    loop {
        let mut scalar = Zeroizing::new([0u8; 32]);
        getrandom::fill(scalar.as_mut()).map_err(|_| SealError::Entropy)?;
        // Zero or ≥ the group order: rejected, draw again (probability ~2⁻¹²⁸).
        if let Ok(key) = SigningKey::from_slice(scalar.as_ref()) {
            return Ok(key);
        }
    }
}
