//! The public half of the key set as published at the JWKS endpoint (RFC 7517, RFC 8037), and
//! the RFC 7638 thumbprint that names each key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A JSON Web Key Set: every key a relying party may meet in a live token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Jwks {
    /// Active key and retired keys that are still published.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key in JWK form (RFC 8037 §2).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    /// Always `"OKP"`.
    pub kty: String,
    /// Always `"Ed25519"`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// The RFC 7638 thumbprint of this key, also the `kid` header of its tokens.
    pub kid: String,
    /// Always `"sig"`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Always `"EdDSA"`.
    pub alg: String,
}

impl Jwk {
    /// The JWK of an Ed25519 public key whose base64url encoding is `x`.
    pub(super) fn ed25519(x: &str) -> Self {
        Self {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: x.to_owned(),
            kid: thumbprint(x),
            use_: "sig".to_owned(),
            alg: "EdDSA".to_owned(),
        }
    }
}

/// RFC 7638 thumbprint of an Ed25519 key: base64url(SHA-256) of the required members in
/// lexicographic order, without whitespace. `x` is base64url, so it needs no JSON escaping.
pub(super) fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
