//! The signing key set: persisted records, their derived keys, rotation and pruning.
//!
//! A key is stored only as its 32-byte Ed25519 seed; the public key, the `kid` (RFC 7638
//! thumbprint) and the jsonwebtoken keys are derived from it when the set is built, so the key
//! file cannot hold a public half that disagrees with its private half.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::EncodingKey;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::TokenError;
use super::jwks::{Jwk, Jwks};

/// An Ed25519 private-key seed; wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Seed([u8; 32]);

impl Seed {
    /// Takes the caller's seed and wipes the copy that was passed in.
    fn take(mut bytes: [u8; 32]) -> Self {
        let seed = Self(bytes);
        bytes.zeroize();
        seed
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.0)
    }
}

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0));
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.as_bytes())
                .map_err(|_| D::Error::custom("seed is not base64url without padding"))?,
        );
        if bytes.len() != 32 {
            return Err(D::Error::custom("seed is not 32 bytes"));
        }
        let mut seed = Self([0; 32]);
        seed.0.copy_from_slice(&bytes);
        Ok(seed)
    }
}

/// One signing key as persisted in the key file (the server writes it as JSON, mode 0600).
///
/// The seed is serialized as base64url and is only reachable through serialization: it is
/// wiped on drop and left out of `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint of the public key; checked against the seed on load.
    pub kid: String,
    seed: Seed,
    /// When the key was created, unix seconds.
    pub created_at: i64,
    /// When the key stopped signing, unix seconds; `None` for the active key.
    #[serde(default)]
    pub retired_at: Option<i64>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("seed", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// What a record publishes and verifies with.
pub(super) struct Published {
    pub(super) jwk: Jwk,
    /// Built once here, so verifying a token does not decompress the curve point again.
    pub(super) verifying: VerifyingKey,
}

/// Builds the public side of a seed.
fn publish(seed: &Seed) -> Result<Published, TokenError> {
    let x = URL_SAFE_NO_PAD.encode(seed.signing_key().verifying_key().as_bytes());
    // The same `x` we publish is what we verify with, so JWKS and verifier cannot disagree.
    let verifying = super::jws::verifying_key(&x)
        .ok_or_else(|| TokenError::Signing("cannot build the verification key".to_owned()))?;
    Ok(Published {
        jwk: Jwk::ed25519(&x),
        verifying,
    })
}

/// Builds jsonwebtoken's signing key: PKCS#8 DER of the private key, which its RustCrypto
/// backend reads back with `SigningKey::from_pkcs8_der`.
fn encoding_key(seed: &Seed) -> Result<EncodingKey, TokenError> {
    let der = seed
        .signing_key()
        .to_pkcs8_der()
        .map_err(|_| TokenError::Signing("cannot encode the signing key".to_owned()))?;
    Ok(EncodingKey::from_ed_der(der.as_bytes()))
}

/// The access-token key set: one active signing key plus retired keys still published so that
/// tokens they signed keep verifying until they expire.
pub struct TokenKeys {
    pub(super) records: Vec<KeyRecord>,
    pub(super) active_kid: String,
    pub(super) encoding: EncodingKey,
    pub(super) published: BTreeMap<String, Published>,
}

impl TokenKeys {
    /// A fresh set with one active key derived from `seed` (32 random bytes from the caller).
    ///
    /// # Errors
    /// [`TokenError::Signing`] if the derived key cannot be encoded for jsonwebtoken.
    pub fn generate(seed: [u8; 32], now: i64) -> Result<Self, TokenError> {
        let seed = Seed::take(seed);
        let published = publish(&seed)?;
        Self::from_records(vec![KeyRecord {
            kid: published.jwk.kid.clone(),
            seed,
            created_at: now,
            retired_at: None,
        }])
    }

    /// Rebuilds the set from the key file. The active key is the newest record (by
    /// `created_at`, later in the list on a tie) with no `retired_at`.
    ///
    /// # Errors
    /// [`TokenError::InvalidKeyFile`] if there are no records, no unretired record, two records
    /// with the same key, or a `kid` that is not the thumbprint of its seed.
    pub fn from_records(records: Vec<KeyRecord>) -> Result<Self, TokenError> {
        let mut published = BTreeMap::new();
        for record in &records {
            let public = publish(&record.seed)?;
            if public.jwk.kid != record.kid {
                return Err(TokenError::InvalidKeyFile(format!(
                    "kid {} does not match its seed",
                    record.kid
                )));
            }
            if published.insert(record.kid.clone(), public).is_some() {
                return Err(TokenError::InvalidKeyFile(format!(
                    "kid {} appears twice",
                    record.kid
                )));
            }
        }
        let active = records
            .iter()
            .filter(|r| r.retired_at.is_none())
            .max_by_key(|r| r.created_at)
            .ok_or_else(|| TokenError::InvalidKeyFile("no active key".to_owned()))?;
        let encoding = encoding_key(&active.seed)?;
        let active_kid = active.kid.clone();
        Ok(Self {
            records,
            active_kid,
            encoding,
            published,
        })
    }

    /// Every key of the set, as the server persists them.
    pub fn records(&self) -> &[KeyRecord] {
        &self.records
    }

    /// The `kid` that new tokens carry.
    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Adds a new active key from `seed`. Every key that was not yet retired (normally just the
    /// previous active key) gets `retired_at = now` but stays published until [`Self::prune`].
    ///
    /// # Errors
    /// [`TokenError::Signing`] if the seed yields a key already in the set (a reused seed) or
    /// the key cannot be encoded. The set is unchanged on error.
    pub fn rotate(&mut self, seed: [u8; 32], now: i64) -> Result<(), TokenError> {
        let seed = Seed::take(seed);
        let public = publish(&seed)?;
        let kid = public.jwk.kid.clone();
        if self.published.contains_key(&kid) {
            return Err(TokenError::Signing(
                "rotation seed yields a key already in the set".to_owned(),
            ));
        }
        let encoding = encoding_key(&seed)?;
        for record in self.records.iter_mut().filter(|r| r.retired_at.is_none()) {
            record.retired_at = Some(now);
        }
        self.records.push(KeyRecord {
            kid: kid.clone(),
            seed,
            created_at: now,
            retired_at: None,
        });
        self.published.insert(kid.clone(), public);
        self.encoding = encoding;
        self.active_kid = kid;
        Ok(())
    }

    /// Drops retired keys whose `retired_at + max_token_lifetime_secs < now`: every token they
    /// signed has expired. The active key is never dropped. Returns how many were dropped.
    pub fn prune(&mut self, now: i64, max_token_lifetime_secs: i64) -> usize {
        let before = self.records.len();
        let published = &mut self.published;
        self.records.retain(|r| {
            let expired = r
                .retired_at
                .is_some_and(|t| t.saturating_add(max_token_lifetime_secs) < now);
            if expired {
                published.remove(&r.kid);
            }
            !expired
        });
        before - self.records.len()
    }

    /// The public keys to serve at the JWKS endpoint: the active key and every retired key not
    /// yet pruned, in the order they were created.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .records
                .iter()
                .filter_map(|r| self.published.get(&r.kid))
                .map(|p| p.jwk.clone())
                .collect(),
        }
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("active_kid", &self.active_kid)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}
