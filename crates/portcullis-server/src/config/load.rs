//! Loading: defaults → TOML file → `PORTCULLIS_*` environment, through figment, then one
//! validation. figment names the key of a type error; the sections name theirs.

use super::{Config, ConfigError};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use std::path::Path;

/// `PORTCULLIS_*` variables that are read by the CLI, not configuration keys.
const NOT_CONFIG_ENV: &[&str] = &["config", "user_password"];

/// Families of `PORTCULLIS_*` variables that belong to the test command and the tools it
/// runs (`TEST_*`, scripts/fuzz's `FUZZ_*`, the Schemathesis test's `SCHEMATHESIS_*`): a
/// server the tests start inherits them and must not read them as unknown keys.
const NOT_CONFIG_ENV_PREFIXES: &[&str] = &["test_", "fuzz_", "schemathesis_"];

impl Config {
    /// Loads defaults, then `file` (if given, it must exist), then the environment.
    ///
    /// # Errors
    /// A missing file, an unknown key, a badly typed value or one out of bounds; each names
    /// the offending key.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("PORTCULLIS_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    !NOT_CONFIG_ENV_PREFIXES.iter().any(|p| k.starts_with(p))
                        && !NOT_CONFIG_ENV.contains(&k.as_str())
                })
                .split("__"),
        );
        Self::extract(figment)
    }

    /// Loads defaults, then the TOML `text`, without the environment: what `load` makes of
    /// a file holding `text` when no `PORTCULLIS_*` variable is set (the fuzz target
    /// `config` feeds it any text, and what it accepts must print and load back).
    ///
    /// # Errors
    /// As [`Config::load`], but never a missing file.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)),
        )
    }

    /// The configuration `figment` describes, validated.
    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Syntax(describe(e)))?;
        config.validate()?;
        Ok(config)
    }
}

/// Every error figment found, each with its key (`key `tokens.access_ttl_secs`: …`).
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("key `{key}`: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
