//! `portcullis config`: the effective configuration as TOML that loads back unchanged.
//!
//! The `toml` crate writes it, so every key is quoted where TOML needs it (`"*" = 2` in
//! `[login.required_factors]`) and lists of tables come out as `[[forward_auth.rules]]`.
//! Secrets need no pass of their own: their `Serialize` writes the redacted form
//! (`secret.rs`), so what is printed is the redacted view by construction.

use super::{Config, ConfigError};

impl Config {
    /// The effective configuration as TOML, secrets redacted.
    ///
    /// # Errors
    /// A value TOML cannot hold (none is known; kept typed rather than printed as a comment).
    pub fn to_redacted_toml(&self) -> Result<String, ConfigError> {
        Ok(toml::to_string(self)?)
    }
}
