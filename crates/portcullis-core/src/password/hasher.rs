//! argon2id hashing and verification: cost parameters, the PHC string, rehash detection,
//! the dummy verification for unknown accounts and the per-thread reuse of argon2's memory.

use std::cell::RefCell;
use std::fmt;

use argon2::password_hash::{self, PasswordHash as PhcHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::Password;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// Cost parameters of argon2id. The defaults are OWASP's recommendation (19 MiB, 2 passes,
/// 1 lane); configuration may raise them, and stored hashes then get upgraded on login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Number of lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

/// A stored password hash in PHC string form, e.g. `$argon2id$v=19$m=19456,t=2,p=1$…`.
/// Not a secret in the strict sense, but an offline-attack target: `Debug` hides it and it
/// has no `Serialize`.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read from storage. It is parsed when verified.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The password is right. When `needs_rehash` is true the hash was made with another
    /// algorithm or other parameters, and the caller should store a fresh hash.
    Match {
        /// Whether the stored hash should be replaced.
        needs_rehash: bool,
    },
    /// The password is wrong.
    Mismatch,
}

/// A failure to hash or verify. Never carries password material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The configured argon2 parameters are out of range.
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(String),
    /// The stored hash is not an argon2 PHC string we can read.
    #[error("malformed password hash")]
    MalformedHash,
    /// The hash computation itself failed.
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Output length of the hash, in bytes.
const OUTPUT_LEN: usize = 32;
/// Shortest salt we keep without rehashing, in bytes (RFC 9106 recommends 16).
const MIN_SALT_LEN: usize = 16;
/// Input of the dummy hash. Its value does not matter; it is never a user's password.
const DUMMY_PASSWORD: &str = "portcullis dummy password";
/// Salt of the dummy hash, fixed so construction needs no randomness.
const DUMMY_SALT: [u8; 16] = *b"portcullis-dummy";

/// Hashes and verifies passwords with argon2id at the configured cost.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: Argon2Params,
    dummy: PasswordHash,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher and computes its dummy hash (one argon2 run).
    ///
    /// # Errors
    /// Returns [`PasswordError::InvalidParams`] when argon2 refuses the parameters (for
    /// example memory below 8 KiB per lane, or zero iterations or lanes).
    pub fn new(params: Argon2Params) -> Result<Self, PasswordError> {
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        let mut hasher = Self {
            argon2,
            params,
            dummy: PasswordHash(String::new()),
        };
        hasher.dummy = hasher.hash(&Password::new(DUMMY_PASSWORD.to_owned()), DUMMY_SALT)?;
        Ok(hasher)
    }

    /// The configured parameters.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes `password` with argon2id v0x13 and the given salt, which the caller draws from
    /// its entropy source (16 random bytes, never reused).
    ///
    /// # Errors
    /// Returns [`PasswordError::Hashing`] if argon2 fails, which the parameter checks in
    /// [`Self::new`] should make impossible.
    pub fn hash(&self, password: &Password, salt: [u8; 16]) -> Result<PasswordHash, PasswordError> {
        self.hash_secret(password.expose().as_bytes(), salt)
    }

    /// Hashes a secret that is not a typed password (an image passcode's digest, a gesture's
    /// canonical form) exactly as [`Self::hash`] hashes a password, with the same cost.
    ///
    /// # Errors
    /// As [`Self::hash`].
    pub fn hash_secret(
        &self,
        secret: &[u8],
        salt: [u8; 16],
    ) -> Result<PasswordHash, PasswordError> {
        let salt = SaltString::encode_b64(&salt).map_err(hashing_error)?;
        let phc = self
            .argon2
            .hash_password(secret, &salt)
            .map_err(hashing_error)?;
        Ok(PasswordHash(phc.to_string()))
    }

    /// Derives a 256-bit key from `password` with argon2id at `params` (those stored with
    /// what the key seals, so raising the configured cost later does not lock it out).
    /// A custodial wallet's key is sealed with such a key together with the keyring.
    ///
    /// # Errors
    /// [`PasswordError::InvalidParams`] for parameters argon2 refuses,
    /// [`PasswordError::Hashing`] if argon2 fails.
    pub fn derive_key(
        password: &Password,
        salt: &[u8; 16],
        params: Argon2Params,
    ) -> Result<Zeroizing<[u8; 32]>, PasswordError> {
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        let mut key = Zeroizing::new([0u8; 32]);
        hash_with_reused_memory(&argon2, password.expose().as_bytes(), salt, key.as_mut())
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(key)
    }

    /// Checks `password` against a stored hash, in constant time with respect to the
    /// password. Any argon2 variant is accepted; `needs_rehash` is true when the hash's
    /// algorithm, version, parameters, output length or salt length differ from the
    /// configured ones.
    ///
    /// # Errors
    /// Returns [`PasswordError::MalformedHash`] when the stored string is not an argon2 PHC
    /// string, and [`PasswordError::Hashing`] if argon2 fails while verifying.
    pub fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, PasswordError> {
        self.verify_secret(password.expose().as_bytes(), hash)
    }

    /// Checks a secret that is not a typed password against a hash of [`Self::hash_secret`],
    /// exactly as [`Self::verify`] checks a password.
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn verify_secret(
        &self,
        secret: &[u8],
        hash: &PasswordHash,
    ) -> Result<Verification, PasswordError> {
        let phc = PhcHash::new(&hash.0).map_err(|_| PasswordError::MalformedHash)?;
        if Algorithm::try_from(phc.algorithm).is_err() || phc.hash.is_none() {
            return Err(PasswordError::MalformedHash);
        }
        let stored = Params::try_from(&phc).map_err(|_| PasswordError::MalformedHash)?;
        let algorithm =
            Algorithm::try_from(phc.algorithm).map_err(|_| PasswordError::MalformedHash)?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).map_err(|_| PasswordError::MalformedHash)?,
            None => Version::default(),
        };
        let expected = phc.hash.ok_or(PasswordError::MalformedHash)?;
        let mut salt_buf = [0u8; 64];
        let salt = phc
            .salt
            .ok_or(PasswordError::MalformedHash)?
            .decode_b64(&mut salt_buf)
            .map_err(|_| PasswordError::MalformedHash)?;
        let argon2 = Argon2::new(algorithm, version, stored.clone());
        let mut computed = vec![0u8; expected.len()];
        hash_with_reused_memory(&argon2, secret, salt, &mut computed)
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        let matches: bool = computed.as_slice().ct_eq(expected.as_bytes()).into();
        computed.zeroize();
        if matches {
            Ok(Verification::Match {
                needs_rehash: self.needs_rehash(&phc, &stored),
            })
        } else {
            Ok(Verification::Mismatch)
        }
    }

    /// Whether a stored hash (already known to be argon2) differs from what [`Self::hash`]
    /// would produce today.
    fn needs_rehash(&self, phc: &PhcHash<'_>, stored: &Params) -> bool {
        let current = self.argon2.params();
        let mut salt_buf = [0u8; 64];
        let salt_len = phc
            .salt
            .and_then(|s| s.decode_b64(&mut salt_buf).ok().map(<[u8]>::len))
            .unwrap_or(0);
        phc.algorithm != Algorithm::Argon2id.ident()
            || phc.version != Some(Version::V0x13.into())
            || stored.m_cost() != current.m_cost()
            || stored.t_cost() != current.t_cost()
            || stored.p_cost() != current.p_cost()
            || stored.output_len() != current.output_len()
            || !stored.keyid().is_empty()
            || !stored.data().is_empty()
            || salt_len < MIN_SALT_LEN
    }

    /// Verifies `password` against a fixed dummy hash made with the configured parameters and
    /// discards the result. Call it when the account does not exist, so that answer costs
    /// the same time as a wrong password for a real account.
    pub fn dummy_verify(&self, password: &Password) {
        let _ = self.verify(password, &self.dummy);
    }
}

thread_local! {
    /// argon2's working memory, kept per thread. Allocating 19 MiB afresh for every
    /// verification made the kernel fault in and zero fresh pages each time, about a third
    /// more CPU per login than the hash itself (see BENCHMARKS.md).
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 into `out` on this thread's reused working memory, then wipes that memory:
/// its first blocks would let anyone who reads it test password guesses cheaply.
fn hash_with_reused_memory(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let result =
            argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]);
        memory[..blocks].fill(Block::default());
        result
    })
}

fn hashing_error(e: password_hash::Error) -> PasswordError {
    PasswordError::Hashing(e.to_string())
}
