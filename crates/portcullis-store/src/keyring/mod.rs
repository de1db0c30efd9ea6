//! The keyring: envelope encryption of PII and secrets, versioned master keys, blind indexes.
//!
//! # Why envelope encryption
//!
//! Each record (an account, a wallet) gets its own random 256-bit *data key*. Its fields are
//! encrypted with that key (AES-256-GCM), and only the data key is encrypted ("wrapped") under
//! a *master key* held in the key file. This buys three things:
//!
//! - **Rotation is cheap**: a new master key only re-wraps the small data keys
//!   ([`Keyring::rewrap`]); the field ciphertexts are never touched. Old master versions stay
//!   in the file until nothing is wrapped under them any more.
//! - **Crypto-shredding**: deleting a record's wrapped key makes every copy of its
//!   ciphertexts, backups included, unreadable.
//! - **A small blast radius**: the master keys never leave this module and a leaked data key
//!   exposes one record only.
//!
//! Associated data binds every ciphertext to where it belongs: a field to its record and
//! column (`b"account:<id>:email"`), a wrapped key to its owner, the master version and a
//! domain tag, so that ciphertexts cannot be swapped between rows, columns or purposes.
//!
//! # Why a blind index
//!
//! Encrypted fields use random nonces, so equal e-mail addresses produce different
//! ciphertexts and cannot be looked up or held unique by the database. A keyed
//! HMAC-SHA256 of the normalised value ([`Keyring::blind_index`]) is deterministic, so a
//! unique index can be built on it, while someone holding only the database cannot confirm a
//! guessed address without the index key (a plain hash would be trivially brute-forced).
//! Callers normalise values (e.g. through the `Email` type) before indexing. The index key is
//! not versioned: replacing it means recomputing every index.
//!
//! # Server secrets
//!
//! Secrets that belong to no record are sealed directly under a key derived with HKDF from
//! the current master ([`Keyring::seal_secret`]); the blob records the master version so it
//! still opens after a rotation.
//!
//! # The key file
//!
//! JSON, mode 0600, written atomically (temporary file in the same directory, then rename):
//! `{"format":1, "current":2, "index_key":"<b64>", "masters":[{"version":1, "key":"<b64>",
//! "created_at":1700000000}, …]}`. Key material is zeroized when dropped and never appears in
//! `Debug` output or error messages.

mod crypto;
mod file;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use aes_gcm::aead::AeadInPlace as _;
use hmac::Mac;
use zeroize::Zeroizing;

pub use crypto::{DataKey, WrappedKey};
use crypto::{
    cipher, derive, hmac_sha256, open, random_array, random_key, seal_into, tagged_aad, to_array,
};
use file::{Persist, warn_if_exposed, write_atomic};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// First byte of a field ciphertext produced by [`DataKey::encrypt`].
const FIELD_FORMAT: u8 = 1;
/// First byte of a blob produced by [`Keyring::seal_secret`].
const SECRET_FORMAT: u8 = 1;
const SECRET_HEADER_LEN: usize = 1 + 4;
/// HKDF info for the key-wrapping key, also the domain tag of wrapping AAD.
const WRAP_INFO: &[u8] = b"portcullis/wrap/v1";
/// HKDF info for the server-secret key, also the domain tag of its AAD.
const SECRET_INFO: &[u8] = b"portcullis/secret/v1";
/// A key file is a few hundred bytes per master; anything this large is not one.
const MAX_FILE_LEN: u64 = 1 << 20;

type Key = Zeroizing<[u8; KEY_LEN]>;

/// Errors of the keyring. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// Reading or writing the key file failed.
    #[error("keyring file {}: {error}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        error: io::Error,
    },
    /// The key file or a ciphertext is malformed.
    #[error("malformed keyring data: {0}")]
    Format(String),
    /// A wrapped key or sealed secret names a master version this keyring does not hold.
    #[error("unknown master key version {0}")]
    UnknownMasterVersion(u32),
    /// Authentication failed: wrong key, wrong associated data or tampered ciphertext.
    #[error("decryption failed: wrong key, wrong associated data or tampered ciphertext")]
    Decrypt,
    /// The cipher refused to encrypt (e.g. a plaintext beyond AES-GCM's limit).
    #[error("encryption failed")]
    Encrypt,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// The versioned master keys and the blind-index key.
pub struct Keyring {
    current: u32,
    index_key: Key,
    masters: BTreeMap<u32, MasterKey>,
}

struct MasterKey {
    key: Key,
    created_at: i64,
}

impl Keyring {
    /// Loads the key file at `path`, or creates it with a fresh master key (version 1) and a
    /// fresh index key if it does not exist. Returns the keyring and whether it was created.
    ///
    /// Creation never overwrites a file that appeared concurrently: the loser of such a race
    /// loads the winner's file.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if the file cannot be read or written, [`KeyringError::Format`]
    /// if it is malformed, [`KeyringError::Random`] if no randomness is available.
    pub fn load_or_generate(path: &Path, now: i64) -> Result<(Self, bool), KeyringError> {
        match Self::load(path) {
            Ok(keyring) => return Ok((keyring, false)),
            Err(KeyringError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let keyring = Self::generate(now)?;
        if write_atomic(path, &keyring.to_json()?, Persist::CreateNew)? {
            tracing::info!(path = %path.display(), "generated a new keyring");
            Ok((keyring, true))
        } else {
            Ok((Self::load(path)?, false))
        }
    }

    /// Loads the key file at `path`. Logs a warning if the file is accessible by group or
    /// others, but still loads it.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if it cannot be read (including when it does not exist),
    /// [`KeyringError::Format`] if it is malformed.
    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let io_err = |error| KeyringError::Io {
            path: path.to_path_buf(),
            error,
        };
        let file = fs::File::open(path).map_err(io_err)?;
        let metadata = file.metadata().map_err(io_err)?;
        warn_if_exposed(path, &metadata);
        if metadata.len() > MAX_FILE_LEN {
            return Err(KeyringError::Format("key file is larger than 1 MiB".into()));
        }
        let capacity = usize::try_from(metadata.len())
            .unwrap_or(0)
            .saturating_add(1);
        let mut text = Zeroizing::new(String::with_capacity(capacity));
        file.take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(io_err)?;
        Self::from_json(&text)
    }

    /// Writes the keyring to `path` atomically with mode 0600, creating parent directories.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        write_atomic(path, &self.to_json()?, Persist::Replace).map(drop)
    }

    /// Adds a fresh master key, makes it current and returns its version. Older versions stay
    /// so that keys wrapped under them can still be unwrapped and re-wrapped.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Random`] if no randomness is available, [`KeyringError::Format`] if
    /// versions are exhausted.
    pub fn add_master(&mut self, now: i64) -> Result<u32, KeyringError> {
        let latest = self.masters.keys().next_back().copied().unwrap_or(0);
        let version = latest
            .checked_add(1)
            .ok_or_else(|| KeyringError::Format("master key versions exhausted".into()))?;
        let key = random_key()?;
        self.masters.insert(
            version,
            MasterKey {
                key,
                created_at: now,
            },
        );
        self.current = version;
        Ok(version)
    }

    /// The version new keys are wrapped and secrets sealed under.
    #[must_use]
    pub fn current_version(&self) -> u32 {
        self.current
    }

    /// All master versions held, ascending.
    #[must_use]
    pub fn versions(&self) -> Vec<u32> {
        self.masters.keys().copied().collect()
    }

    /// Creates a random data key and wraps it under the current master; `aad` binds the
    /// wrapped key to its owner (e.g. the account id bytes).
    ///
    /// # Errors
    ///
    /// [`KeyringError::Random`] or [`KeyringError::Encrypt`].
    pub fn new_data_key(&self, aad: &[u8]) -> Result<(DataKey, WrappedKey), KeyringError> {
        let key = DataKey(random_key()?);
        let wrapped = self.wrap(&key, aad)?;
        Ok((key, wrapped))
    }

    /// Unwraps a data key with the master version it records.
    ///
    /// # Errors
    ///
    /// [`KeyringError::UnknownMasterVersion`], [`KeyringError::Format`] if the bytes have the
    /// wrong length, [`KeyringError::Decrypt`] if `aad` differs or the bytes were altered.
    pub fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, KeyringError> {
        let master = self.master(wrapped.master_version)?;
        if wrapped.bytes.len() != WRAPPED_LEN {
            return Err(KeyringError::Format(
                "wrapped key has the wrong length".into(),
            ));
        }
        let (nonce, rest) = wrapped.bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(KEY_LEN);
        let nonce = to_array::<NONCE_LEN>(nonce)?;
        let tag = to_array::<TAG_LEN>(tag)?;
        let mut key: Key = Zeroizing::new(to_array::<KEY_LEN>(ciphertext)?);
        let kek = derive(&master.key, WRAP_INFO);
        let aad = tagged_aad(WRAP_INFO, wrapped.master_version, aad);
        cipher(&kek)
            .decrypt_in_place_detached((&nonce).into(), &aad, key.as_mut(), (&tag).into())
            .map_err(|_| KeyringError::Decrypt)?;
        Ok(DataKey(key))
    }

    /// Unwraps under the recorded master and wraps again under the current one: rotation
    /// without re-encrypting any field.
    ///
    /// # Errors
    ///
    /// As [`Keyring::unwrap_key`] and [`Keyring::new_data_key`].
    pub fn rewrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<WrappedKey, KeyringError> {
        let key = self.unwrap_key(wrapped, aad)?;
        self.wrap(&key, aad)
    }

    /// Keyed blind index for look-up and uniqueness:
    /// HMAC-SHA256(index key, `domain` ‖ 0x00 ‖ `value`). `domain` names the column (e.g.
    /// `"email"`) and must not contain NUL.
    #[must_use]
    pub fn blind_index(&self, domain: &str, value: &str) -> [u8; 32] {
        debug_assert!(!domain.contains('\0'), "blind-index domain contains NUL");
        let mut mac = hmac_sha256(&self.index_key);
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals a server-wide secret under a key derived from the current master.
    /// Blob = 1-byte format (1) ‖ master version (u32, big-endian) ‖ 12-byte nonce ‖
    /// ciphertext ‖ tag.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Random`] or [`KeyringError::Encrypt`].
    pub fn seal_secret(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let master = self.master(self.current)?;
        let key = derive(&master.key, SECRET_INFO);
        let aad = tagged_aad(SECRET_INFO, self.current, aad);
        let mut blob =
            Vec::with_capacity(SECRET_HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        blob.push(SECRET_FORMAT);
        blob.extend_from_slice(&self.current.to_be_bytes());
        seal_into(&key, plaintext, &aad, &mut blob)?;
        Ok(blob)
    }

    /// Opens a blob made by [`Keyring::seal_secret`] under the master version it records.
    /// Wrap the result in `Zeroizing` when it is a secret.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Format`] for a malformed blob, [`KeyringError::UnknownMasterVersion`],
    /// [`KeyringError::Decrypt`] if `aad` differs or the blob was altered.
    pub fn open_secret(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let Some((&format, rest)) = blob.split_first() else {
            return Err(KeyringError::Format("sealed secret is empty".into()));
        };
        if format != SECRET_FORMAT {
            return Err(KeyringError::Format(format!(
                "unknown sealed-secret format {format}"
            )));
        }
        let Some((version, body)) = rest.split_first_chunk::<4>() else {
            return Err(KeyringError::Format("sealed secret is too short".into()));
        };
        let version = u32::from_be_bytes(*version);
        let master = self.master(version)?;
        let key = derive(&master.key, SECRET_INFO);
        open(&key, body, &tagged_aad(SECRET_INFO, version, aad))
    }

    fn generate(now: i64) -> Result<Self, KeyringError> {
        let master = MasterKey {
            key: random_key()?,
            created_at: now,
        };
        Ok(Self {
            current: 1,
            index_key: random_key()?,
            masters: BTreeMap::from([(1, master)]),
        })
    }

    fn master(&self, version: u32) -> Result<&MasterKey, KeyringError> {
        self.masters
            .get(&version)
            .ok_or(KeyringError::UnknownMasterVersion(version))
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<WrappedKey, KeyringError> {
        let master = self.master(self.current)?;
        let kek = derive(&master.key, WRAP_INFO);
        let aad = tagged_aad(WRAP_INFO, self.current, aad);
        let nonce = random_array::<NONCE_LEN>()?;
        let mut buf: Key = Zeroizing::new(*key.0);
        let tag = cipher(&kek)
            .encrypt_in_place_detached((&nonce).into(), &aad, buf.as_mut())
            .map_err(|_| KeyringError::Encrypt)?;
        let bytes = [nonce.as_slice(), buf.as_slice(), tag.as_slice()].concat();
        Ok(WrappedKey {
            master_version: self.current,
            bytes,
        })
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("versions", &self.versions())
            .finish_non_exhaustive()
    }
}
