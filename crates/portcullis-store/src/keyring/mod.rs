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

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead as _, AeadInPlace as _, KeyInit as _, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const FILE_FORMAT: u32 = 1;
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
    Io { path: PathBuf, error: io::Error },
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

/// A data key wrapped under a master key: `bytes` = 12-byte nonce ‖ ciphertext ‖ tag.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub master_version: u32,
    pub bytes: Vec<u8>,
}

/// A per-record AES-256-GCM key; zeroized on drop, never printed.
pub struct DataKey(Key);

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

    fn from_json(text: &str) -> Result<Self, KeyringError> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            // serde's own message may quote values from the file, i.e. key material.
            KeyringError::Format(format!(
                "invalid key file ({:?} error) at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if file.format != FILE_FORMAT {
            return Err(KeyringError::Format(format!(
                "unsupported key file format {}",
                file.format
            )));
        }
        let mut masters = BTreeMap::new();
        for entry in &file.masters {
            if entry.version == 0 {
                return Err(KeyringError::Format(
                    "master key version 0 is reserved".into(),
                ));
            }
            let key = decode_key(&entry.key, &format!("master key {}", entry.version))?;
            let master = MasterKey {
                key,
                created_at: entry.created_at,
            };
            if masters.insert(entry.version, master).is_some() {
                let msg = format!("master key version {} appears twice", entry.version);
                return Err(KeyringError::Format(msg));
            }
        }
        if !masters.contains_key(&file.current) {
            let msg = format!("current master version {} is not in the file", file.current);
            return Err(KeyringError::Format(msg));
        }
        let index_key = decode_key(&file.index_key, "index key")?;
        Ok(Self {
            current: file.current,
            index_key,
            masters,
        })
    }

    fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        let masters = self.masters.iter().map(|(&version, master)| MasterEntry {
            version,
            key: B64.encode(master.key.as_slice()),
            created_at: master.created_at,
        });
        let file = KeyFile {
            format: FILE_FORMAT,
            current: self.current,
            index_key: B64.encode(self.index_key.as_slice()),
            masters: masters.collect(),
        };
        let mut json = Zeroizing::new(
            serde_json::to_vec_pretty(&file)
                .map_err(|_| KeyringError::Format("cannot serialise the key file".into()))?,
        );
        json.push(b'\n');
        Ok(json)
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

/// The on-disk shape; its strings hold base64 key material, hence zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: u32,
    current: u32,
    index_key: String,
    masters: Vec<MasterEntry>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct MasterEntry {
    version: u32,
    key: String,
    created_at: i64,
}

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// Appends nonce ‖ ciphertext ‖ tag to `out`.
fn seal_into(
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
fn open(key: &Key, body: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyringError> {
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
fn tagged_aad(domain: &[u8], version: u32, aad: &[u8]) -> Vec<u8> {
    [domain, &[0], &version.to_be_bytes(), aad].concat()
}

/// A purpose-specific key from a master key (HKDF-SHA256, no salt: masters are uniform).
fn derive(master: &Key, info: &[u8]) -> Key {
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

fn hmac_sha256(key: &Key) -> Hmac<Sha256> {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice()).expect("HMAC accepts any key length")
}

fn random_key() -> Result<Key, KeyringError> {
    let mut key: Key = Zeroizing::new([0; KEY_LEN]);
    getrandom::fill(key.as_mut()).map_err(|_| KeyringError::Random)?;
    Ok(key)
}

fn random_array<const N: usize>() -> Result<[u8; N], KeyringError> {
    let mut out = [0; N];
    getrandom::fill(&mut out).map_err(|_| KeyringError::Random)?;
    Ok(out)
}

fn to_array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], KeyringError> {
    bytes
        .try_into()
        .map_err(|_| KeyringError::Format("field has the wrong length".into()))
}

fn decode_key(text: &str, what: &str) -> Result<Key, KeyringError> {
    // The decoder's message would quote the offending byte: keep it out of the error.
    let bytes = Zeroizing::new(
        B64.decode(text)
            .map_err(|_| KeyringError::Format(format!("{what} is not valid base64")))?,
    );
    let key = to_array::<KEY_LEN>(&bytes)
        .map_err(|_| KeyringError::Format(format!("{what} must be {KEY_LEN} bytes")))?;
    Ok(Zeroizing::new(key))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Persist {
    /// Replace an existing file (save).
    Replace,
    /// Never clobber: if the file appeared meanwhile, leave it and report `false`.
    CreateNew,
}

/// Writes `contents` to a temporary file (mode 0600) beside `path`, syncs it, then moves it
/// into place and syncs the directory. Returns whether `path` now holds `contents`.
fn write_atomic(path: &Path, contents: &[u8], mode: Persist) -> Result<bool, KeyringError> {
    let io_err = |error| KeyringError::Io {
        path: path.to_path_buf(),
        error,
    };
    let name = path.file_name().ok_or_else(|| {
        io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_dirs(dir).map_err(io_err)?;
    let suffix = hex::encode(random_array::<8>()?);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{suffix}.tmp"));
    let tmp = dir.join(tmp_name);

    let result = write_new(&tmp, contents).and_then(|()| match mode {
        Persist::Replace => fs::rename(&tmp, path).map(|()| true),
        Persist::CreateNew => {
            // A hard link fails if `path` exists, unlike rename: no clobbering in a race.
            let linked = match fs::hard_link(&tmp, path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(e),
            };
            fs::remove_file(&tmp).map(|()| linked)
        }
    });
    if result.is_err() {
        // Best effort: the temporary file may never have been created.
        let _ = fs::remove_file(&tmp);
    }
    let written = result.map_err(io_err)?;
    sync_dir(dir).map_err(io_err)?;
    Ok(written)
}

fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn warn_if_exposed(path: &Path, metadata: &fs::Metadata) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "keyring file is accessible by group or others; it should have mode 0600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_path: &Path, _metadata: &fs::Metadata) {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn fresh() -> Keyring {
        Keyring::generate(NOW).unwrap()
    }

    fn key_file_strings(path: &Path) -> Vec<String> {
        let json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let mut keys = vec![json["index_key"].as_str().unwrap().to_owned()];
        for master in json["masters"].as_array().unwrap() {
            keys.push(master["key"].as_str().unwrap().to_owned());
        }
        keys
    }

    #[test]
    fn generate_then_load_gives_the_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/keyring.json");
        let (generated, created) = Keyring::load_or_generate(&path, NOW).unwrap();
        assert!(created);
        assert_eq!(generated.versions(), vec![1]);
        let (key, wrapped) = generated.new_data_key(b"account:1").unwrap();
        let blob = key
            .encrypt(b"alice@example.org", b"account:1:email")
            .unwrap();
        let secret = generated.seal_secret(b"pair secret", b"pair:7").unwrap();

        let (again, created) = Keyring::load_or_generate(&path, NOW + 1).unwrap();
        assert!(!created);
        let loaded = Keyring::load(&path).unwrap();
        for keyring in [&again, &loaded] {
            let key = keyring.unwrap_key(&wrapped, b"account:1").unwrap();
            assert_eq!(
                key.decrypt(&blob, b"account:1:email").unwrap(),
                b"alice@example.org"
            );
            assert_eq!(
                keyring.open_secret(&secret, b"pair:7").unwrap(),
                b"pair secret"
            );
            assert_eq!(
                keyring.blind_index("email", "a"),
                generated.blind_index("email", "a")
            );
        }
        assert!(
            !dir.path()
                .join("nested/dir")
                .read_dir()
                .unwrap()
                .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_has_mode_0600_after_generate_and_save() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
        assert_eq!(mode(&path), 0o600);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let mut loaded = Keyring::load(&path).unwrap(); // warns, still loads
        loaded.add_master(NOW).unwrap();
        loaded.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        keyring.add_master(NOW).unwrap();
        assert_eq!(Keyring::load(&path).unwrap().versions(), vec![1, 2]);
    }

    #[test]
    fn load_reports_missing_and_malformed_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let missing = Keyring::load(&path);
        assert!(
            matches!(&missing, Err(KeyringError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound),
            "{missing:?}"
        );

        let key = B64.encode([7u8; 32]);
        let short = B64.encode([7u8; 16]);
        let file = |format: u32, current: u32, masters: serde_json::Value| {
            serde_json::json!({"format": format, "current": current, "index_key": key, "masters": masters})
                .to_string()
        };
        let master = |version: serde_json::Value, key: &str| serde_json::json!({"version": version, "key": key, "created_at": 0});
        let cases = [
            "not json".to_owned(),
            file(2, 1, serde_json::json!([master(1.into(), &key)])),
            file(1, 2, serde_json::json!([master(1.into(), &key)])),
            file(1, 1, serde_json::json!([master(1.into(), &short)])),
            file(
                1,
                1,
                serde_json::json!([master(1.into(), &format!("{key}!"))]),
            ),
            file(1, 1, serde_json::json!([master(key.as_str().into(), &key)])),
            file(
                1,
                1,
                serde_json::json!([master(1.into(), &key), master(1.into(), &key)]),
            ),
            file(1, 0, serde_json::json!([master(0.into(), &key)])),
        ];
        for case in cases {
            fs::write(&path, &case).unwrap();
            let result = Keyring::load(&path);
            assert!(
                matches!(result, Err(KeyringError::Format(_))),
                "{case}: {result:?}"
            );
            let message = result.unwrap_err().to_string();
            assert!(
                !message.contains(&key) && !message.contains(&short),
                "{message}"
            );
        }
    }

    #[test]
    fn field_round_trip_uses_fresh_nonces() {
        let (key, _) = fresh().new_data_key(b"account:1").unwrap();
        let a = key.encrypt(b"+33612345678", b"account:1:phone").unwrap();
        let b = key.encrypt(b"+33612345678", b"account:1:phone").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 1 + NONCE_LEN + 12 + TAG_LEN);
        assert_eq!(
            key.decrypt(&a, b"account:1:phone").unwrap(),
            b"+33612345678"
        );
        assert_eq!(
            key.decrypt(&key.encrypt(b"", b"x").unwrap(), b"x").unwrap(),
            b""
        );
    }

    #[test]
    fn wrong_aad_tampering_and_truncation_fail_without_panic() {
        let keyring = fresh();
        let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
        let blob = key
            .encrypt(b"alice@example.org", b"account:1:email")
            .unwrap();

        assert!(matches!(
            key.decrypt(&blob, b"account:2:email"),
            Err(KeyringError::Decrypt)
        ));
        for i in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x01;
            assert!(
                key.decrypt(&tampered, b"account:1:email").is_err(),
                "byte {i}"
            );
            assert!(
                key.decrypt(&blob[..i], b"account:1:email").is_err(),
                "length {i}"
            );
        }
        let (other, _) = keyring.new_data_key(b"account:1").unwrap();
        assert!(matches!(
            other.decrypt(&blob, b"account:1:email"),
            Err(KeyringError::Decrypt)
        ));

        assert!(matches!(
            keyring.unwrap_key(&wrapped, b"account:2"),
            Err(KeyringError::Decrypt)
        ));
        for i in 0..wrapped.bytes.len() {
            let mut tampered = wrapped.clone();
            tampered.bytes[i] ^= 0x80;
            assert!(matches!(
                keyring.unwrap_key(&tampered, b"account:1"),
                Err(KeyringError::Decrypt)
            ));
            let truncated = WrappedKey {
                master_version: 1,
                bytes: wrapped.bytes[..i].to_vec(),
            };
            assert!(matches!(
                keyring.unwrap_key(&truncated, b"account:1"),
                Err(KeyringError::Format(_))
            ));
        }

        let sealed = keyring.seal_secret(b"s3cret", b"jwt").unwrap();
        assert!(matches!(
            keyring.open_secret(&sealed, b"other"),
            Err(KeyringError::Decrypt)
        ));
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert!(keyring.open_secret(&tampered, b"jwt").is_err(), "byte {i}");
            assert!(
                keyring.open_secret(&sealed[..i], b"jwt").is_err(),
                "length {i}"
            );
        }
    }

    #[test]
    fn wrapped_key_is_not_a_field_ciphertext() {
        let keyring = fresh();
        let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
        let mut as_field = vec![FIELD_FORMAT];
        as_field.extend_from_slice(&wrapped.bytes);
        assert!(matches!(
            key.decrypt(&as_field, b"account:1"),
            Err(KeyringError::Decrypt)
        ));
    }

    #[test]
    fn rotation_rewraps_without_reencrypting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
        let (key, wrapped_v1) = keyring.new_data_key(b"account:1").unwrap();
        let blob = key
            .encrypt(b"alice@example.org", b"account:1:email")
            .unwrap();
        assert_eq!(wrapped_v1.master_version, 1);

        assert_eq!(keyring.add_master(NOW + 10).unwrap(), 2);
        assert_eq!(keyring.current_version(), 2);
        assert_eq!(keyring.versions(), vec![1, 2]);
        let wrapped_v2 = keyring.rewrap(&wrapped_v1, b"account:1").unwrap();
        assert_eq!(wrapped_v2.master_version, 2);
        assert_ne!(wrapped_v2.bytes, wrapped_v1.bytes);
        assert!(matches!(
            keyring.rewrap(&wrapped_v1, b"account:9"),
            Err(KeyringError::Decrypt)
        ));

        keyring.save(&path).unwrap();
        let loaded = Keyring::load(&path).unwrap();
        assert_eq!(loaded.current_version(), 2);
        for wrapped in [&wrapped_v1, &wrapped_v2] {
            let key = loaded.unwrap_key(wrapped, b"account:1").unwrap();
            assert_eq!(
                key.decrypt(&blob, b"account:1:email").unwrap(),
                b"alice@example.org"
            );
        }
        let (_, fresh_wrap) = loaded.new_data_key(b"account:2").unwrap();
        assert_eq!(fresh_wrap.master_version, 2);

        // The version is authenticated: relabelling a v2 wrap as v1 does not unwrap.
        let relabelled = WrappedKey {
            master_version: 1,
            ..wrapped_v2
        };
        assert!(matches!(
            loaded.unwrap_key(&relabelled, b"account:1"),
            Err(KeyringError::Decrypt)
        ));
    }

    #[test]
    fn unknown_master_version_is_reported() {
        let keyring = fresh();
        let (_, wrapped) = keyring.new_data_key(b"account:1").unwrap();
        let unknown = WrappedKey {
            master_version: 9,
            ..wrapped
        };
        assert!(matches!(
            keyring.unwrap_key(&unknown, b"account:1"),
            Err(KeyringError::UnknownMasterVersion(9))
        ));
        let mut sealed = keyring.seal_secret(b"s", b"").unwrap();
        sealed[1..5].copy_from_slice(&9u32.to_be_bytes());
        assert!(matches!(
            keyring.open_secret(&sealed, b""),
            Err(KeyringError::UnknownMasterVersion(9))
        ));
    }

    #[test]
    fn blind_index_is_keyed_and_domain_separated() {
        let keyring = fresh();
        let index = keyring.blind_index("email", "alice@example.org");
        assert_eq!(index, keyring.blind_index("email", "alice@example.org"));
        assert_ne!(index, keyring.blind_index("phone", "alice@example.org"));
        assert_ne!(index, keyring.blind_index("email", "bob@example.org"));
        assert_ne!(index, fresh().blind_index("email", "alice@example.org"));
        assert_ne!(
            keyring.blind_index("ab", "c"),
            keyring.blind_index("a", "bc")
        );

        let mut mac = hmac_sha256(&keyring.index_key);
        mac.update(b"email\0alice@example.org");
        assert_eq!(index, <[u8; 32]>::from(mac.finalize().into_bytes()));
    }

    #[test]
    fn secrets_open_across_rotation() {
        let mut keyring = fresh();
        let v1 = keyring.seal_secret(b"totp pair secret", b"pair:7").unwrap();
        assert_eq!(
            keyring.open_secret(&v1, b"pair:7").unwrap(),
            b"totp pair secret"
        );
        keyring.add_master(NOW).unwrap();
        let v2 = keyring.seal_secret(b"totp pair secret", b"pair:7").unwrap();
        assert_eq!(v1[1..5], 1u32.to_be_bytes());
        assert_eq!(v2[1..5], 2u32.to_be_bytes());
        for blob in [&v1, &v2] {
            assert_eq!(
                keyring.open_secret(blob, b"pair:7").unwrap(),
                b"totp pair secret"
            );
        }
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
        keyring.add_master(NOW).unwrap();
        keyring.save(&path).unwrap();
        let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
        let printed = format!(
            "{keyring:?} {key:?} {wrapped:?} {:#?}",
            Keyring::load(&path)
        );
        assert!(printed.contains("versions: [1, 2]"), "{printed}");
        let secrets = key_file_strings(&path);
        assert_eq!(secrets.len(), 3);
        for secret in secrets {
            assert!(!printed.contains(&secret), "{printed}");
            let hex_key = hex::encode(B64.decode(&secret).unwrap());
            assert!(!printed.to_lowercase().contains(&hex_key), "{printed}");
        }
        assert!(!printed.contains(&B64.encode(key.0.as_slice())));
    }
}
