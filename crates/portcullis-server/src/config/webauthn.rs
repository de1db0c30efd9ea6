//! `[webauthn]`: the passkey relying party. Both keys default from the public URL, which is
//! right for a single-origin deployment.

use serde::{Deserialize, Serialize};
use url::Url;

/// WebAuthn relying party settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnConfig {
    /// Relying party id (a domain); default: the public URL's host, or `localhost` when that
    /// is an IP address.
    pub rp_id: Option<String>,
    /// Origins browsers call from; default: the public URL (with `localhost` in place of a
    /// loopback IP).
    pub origins: Vec<Url>,
}
