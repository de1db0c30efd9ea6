//! Session keys as DPoP sees them: the public key in a proof's `jwk` header
//! ([`SessionKey`]: parse, RFC 7638 thumbprint, signature check) and the private key a wallet
//! session signs proofs with ([`SessionSigner`]).
//!
//! Two curves only, each through its well-kept crate: secp256k1 (`ES256K`, RFC 8812; k256),
//! the wallet's own curve, and Ed25519 (`EdDSA`, RFC 8037; ed25519-dalek). No curve
//! arithmetic is done here: the crates decide whether a point is on its curve and whether a
//! signature holds.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::DpopError;

/// `alg` of a secp256k1 proof (RFC 8812 §3.2).
pub const ES256K: &str = "ES256K";
/// `alg` of an Ed25519 proof (RFC 8037 §3.1).
pub const EDDSA: &str = "EdDSA";

/// A session's public key: what a DPoP proof carries in its `jwk` header and what an access
/// token names by thumbprint in `cnf.jkt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionKey {
    /// A secp256k1 key, signing `ES256K`.
    Secp256k1(k256::ecdsa::VerifyingKey),
    /// An Ed25519 key, signing `EdDSA`.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl SessionKey {
    /// Reads a public JWK: `{"kty":"EC","crv":"secp256k1","x":…,"y":…}` (RFC 8812 §3.1) or
    /// `{"kty":"OKP","crv":"Ed25519","x":…}` (RFC 8037 §2). Other members (`kid`, `use`, …)
    /// are ignored.
    ///
    /// # Errors
    /// [`DpopError::PrivateKey`] when the JWK has a `d` member (a client that leaks its
    /// private key in every request must be told, not served); [`DpopError::InvalidKey`] for
    /// any other key type or curve, a coordinate that is not 32 base64url bytes, a point not
    /// on the curve, or a weak (small-order) Ed25519 key.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, DpopError> {
        let jwk = jwk.as_object().ok_or(DpopError::InvalidKey)?;
        if jwk.contains_key("d") {
            return Err(DpopError::PrivateKey);
        }
        let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        match (member("kty"), member("crv")) {
            (Some("EC"), Some("secp256k1")) => {
                let x = coordinate(member("x"))?;
                let y = coordinate(member("y"))?;
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                k256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(Self::Secp256k1)
                    .map_err(|_| DpopError::InvalidKey)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = coordinate(member("x"))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| DpopError::InvalidKey)?;
                if key.is_weak() {
                    return Err(DpopError::InvalidKey);
                }
                Ok(Self::Ed25519(key))
            }
            _ => Err(DpopError::InvalidKey),
        }
    }

    /// The public JWK (required members only, so it is also the thumbprint's input).
    pub fn to_jwk(&self) -> serde_json::Value {
        match self {
            Self::Secp256k1(key) => {
                let (x, y) = secp256k1_coordinates(key);
                serde_json::json!({ "kty": "EC", "crv": "secp256k1", "x": x, "y": y })
            }
            Self::Ed25519(key) => {
                let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
                serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": x })
            }
        }
    }

    /// The RFC 7638 thumbprint of a JWK's members as they are written, before the key is
    /// decoded (`None` for a JWK that is not an EC secp256k1 or OKP Ed25519 one, or whose
    /// members hold characters a base64url value cannot): lets a verifier find a key it
    /// decoded before by its thumbprint. Equal to [`SessionKey::thumbprint`] for a key that
    /// decodes.
    pub fn thumbprint_of_jwk(jwk: &serde_json::Value) -> Option<String> {
        let member = |name: &str| {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|v| {
                    v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
        };
        let canonical = match (member("kty")?, member("crv")?) {
            ("EC", "secp256k1") => format!(
                r#"{{"crv":"secp256k1","kty":"EC","x":"{}","y":"{}"}}"#,
                member("x")?,
                member("y")?
            ),
            ("OKP", "Ed25519") => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, member("x")?)
            }
            _ => return None,
        };
        Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }

    /// The RFC 7638 thumbprint: base64url (no padding) of the SHA-256 of the required members
    /// in lexicographic order, without whitespace. This is the `cnf.jkt` of a bound token.
    pub fn thumbprint(&self) -> String {
        // The members are fixed ASCII names and base64url values, so no JSON escaping arises.
        let canonical = match self {
            Self::Secp256k1(key) => {
                let (x, y) = secp256k1_coordinates(key);
                format!(r#"{{"crv":"secp256k1","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            Self::Ed25519(key) => {
                let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)
            }
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The JWS `alg` this key signs with: `ES256K` or `EdDSA`.
    pub fn alg(&self) -> &'static str {
        match self {
            Self::Secp256k1(_) => ES256K,
            Self::Ed25519(_) => EDDSA,
        }
    }

    /// Checks a JWS signature over `signing_input`: for `ES256K` the 64-byte `r ‖ s` of
    /// ECDSA over SHA-256 (RFC 8812 §3.2), for `EdDSA` the 64-byte Ed25519 signature.
    ///
    /// A high-S ECDSA signature is accepted: k256 refuses it (BIP 62's malleability rule),
    /// but JOSE does not require low S and libraries such as `cryptography` emit either, so it
    /// is normalised first. Malleability is harmless here: replay is judged by `jti`, never
    /// by signature bytes. Ed25519 is verified as RFC 8032 and RFC 8037 say (canonical `S`);
    /// the "strict" variant's extra small-order checks would guard a signature's uniqueness,
    /// which nothing here relies on, at the price of a point decompression per request.
    pub(super) fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Secp256k1(key) => {
                use k256::ecdsa::signature::Verifier as _;
                let Ok(sig) = k256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                let sig = sig.normalize_s().unwrap_or(sig);
                key.verify(signing_input, &sig).is_ok()
            }
            Self::Ed25519(key) => {
                let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                use ed25519_dalek::Verifier as _;
                key.verify(signing_input, &sig).is_ok()
            }
        }
    }
}

/// The 32 bytes of a base64url JWK coordinate.
fn coordinate(value: Option<&str>) -> Result<[u8; 32], DpopError> {
    let value = value.ok_or(DpopError::InvalidKey)?;
    let mut bytes = [0u8; 48];
    let len = URL_SAFE_NO_PAD
        .decode_slice(value, &mut bytes)
        .map_err(|_| DpopError::InvalidKey)?;
    bytes[..len].try_into().map_err(|_| DpopError::InvalidKey)
}

/// The base64url `x` and `y` of a secp256k1 key's uncompressed point.
fn secp256k1_coordinates(key: &k256::ecdsa::VerifyingKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    // An uncompressed point of a valid key always has both coordinates.
    let coordinate = |c: Option<&k256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c));
    (
        coordinate(point.x()).unwrap_or_default(),
        coordinate(point.y()).unwrap_or_default(),
    )
}

/// A session's private key, which signs DPoP proofs: the wallet driver and the tests hold
/// one. Both variants zeroize their secret when dropped (the crates' own `Drop`), and `Debug`
/// prints only the public key's thumbprint.
#[derive(Clone)]
pub enum SessionSigner {
    /// A secp256k1 key, signing `ES256K`.
    Secp256k1(k256::ecdsa::SigningKey),
    /// An Ed25519 key, signing `EdDSA`.
    Ed25519(ed25519_dalek::SigningKey),
}

impl SessionSigner {
    /// The secp256k1 key whose secret scalar is `bytes` (big-endian).
    ///
    /// # Errors
    /// [`DpopError::InvalidKey`] when `bytes` is zero or not below the curve order.
    pub fn secp256k1_from_bytes(bytes: &[u8; 32]) -> Result<Self, DpopError> {
        k256::ecdsa::SigningKey::from_bytes(bytes.into())
            .map(Self::Secp256k1)
            .map_err(|_| DpopError::InvalidKey)
    }

    /// The Ed25519 key of the 32-byte seed `bytes` (any seed is a key).
    pub fn ed25519_from_bytes(bytes: &[u8; 32]) -> Self {
        Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(bytes))
    }

    /// The public half, as proofs carry it and tokens name it.
    pub fn public(&self) -> SessionKey {
        match self {
            Self::Secp256k1(key) => SessionKey::Secp256k1(*key.verifying_key()),
            Self::Ed25519(key) => SessionKey::Ed25519(key.verifying_key()),
        }
    }

    /// The signature of `signing_input` as JWS signature bytes (64 bytes either way; ECDSA
    /// deterministic per RFC 6979, low S).
    pub(super) fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        match self {
            Self::Secp256k1(key) => {
                let sig: k256::ecdsa::Signature = key.sign(signing_input);
                sig.to_bytes().to_vec()
            }
            Self::Ed25519(key) => key.sign(signing_input).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSigner")
            .field("alg", &self.public().alg())
            .field("jkt", &self.public().thumbprint())
            .finish_non_exhaustive()
    }
}
