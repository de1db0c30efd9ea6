//! Why a configuration was refused: always with the key's name, so a typo or a bad value in
//! a file or a `PORTCULLIS_*` variable is found at once.

use std::path::PathBuf;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` (or `PORTCULLIS_CONFIG`) is not there.
    #[error("invalid configuration: config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A key is unknown or its value has the wrong type; figment's description, which names
    /// the key (`key `tokens.access_ttl_secs`: …`).
    #[error("invalid configuration: {0}")]
    Syntax(String),
    /// A value is well-typed but out of bounds.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] InvalidValue),
    /// The configuration could not be written as TOML.
    #[error("cannot render the configuration: {0}")]
    Render(#[from] toml::ser::Error),
}

/// A value outside what its key allows, found by a section's `validate()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {reason}")]
pub struct InvalidValue {
    /// The key as written in the TOML file, e.g. `tokens.access_ttl_secs` or
    /// `forward_auth.rules[2].acr`.
    pub key: String,
    /// What the key needs, e.g. `must be positive`.
    pub reason: String,
}

impl InvalidValue {
    /// `key` is wrong because of `reason`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Refuses a zero duration (or count) at `key`.
pub(crate) fn positive(key: &str, is_zero: bool) -> Result<(), InvalidValue> {
    if is_zero {
        Err(InvalidValue::new(key, "must be positive"))
    } else {
        Ok(())
    }
}
