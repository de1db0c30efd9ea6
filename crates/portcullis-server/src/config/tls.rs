//! `[tls]`: serve HTTPS directly. Absent, the server speaks plain HTTP (behind a proxy that
//! terminates TLS, or in development).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Certificate and key for serving HTTPS; both files are read at start-up, where a bad one
/// stops the server with its path.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}
