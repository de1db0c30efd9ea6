//! The driver's session file: what `login` leaves for `call` and `logout`.
//!
//! It holds the session's tokens and the session key (an ephemeral key the wallet delegated
//! the session to), so it is written owner-only and replaced atomically. The wallet's own
//! key never leaves the wallet; losing this file loses only this session.

use std::io::Write as _;
use std::path::Path;

use portcullis_core::token::dpop::SessionSigner;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One wallet session, as the driver keeps it between commands.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionFile {
    /// The server's base URL (as its public URL spells it: proofs name it).
    pub server: String,
    /// The session id.
    pub session_id: String,
    /// The DPoP-bound access token.
    pub access_token: String,
    /// The refresh token (bound to the session key as well).
    pub refresh_token: Option<String>,
    /// The session key's Ed25519 seed, hex.
    pub session_key: String,
    /// The last `DPoP-Nonce` the server gave.
    #[serde(default)]
    pub nonce: Option<String>,
}

impl std::fmt::Debug for SessionFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFile")
            .field("server", &self.server)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl SessionFile {
    /// The session key.
    ///
    /// # Errors
    /// A seed that is not 64 hex digits.
    pub fn signer(&self) -> anyhow::Result<SessionSigner> {
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(&self.session_key, seed.as_mut())
            .map_err(|_| anyhow::anyhow!("the session file's key is not 64 hex digits"))?;
        Ok(SessionSigner::ed25519_from_bytes(&seed))
    }

    /// Reads the file at `path`.
    ///
    /// # Errors
    /// I/O, or not a session file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        Ok(serde_json::from_str(&text)?)
    }

    /// Writes the file at `path`, owner-only, replacing it atomically.
    ///
    /// # Errors
    /// I/O.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = Zeroizing::new(serde_json::to_string_pretty(self)?);
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
