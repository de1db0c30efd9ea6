//! `[forward_auth]`: the rules a reverse proxy's `auth_request` is judged by. The matching
//! itself lives with the service (`services::forward_auth`); this file owns the section's
//! shape, defaults and checks.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use portcullis_core::login::Assurance;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[forward_auth]` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardAuthConfig {
    /// Lifetime of the internal token handed to the upstream.
    #[serde(rename = "token_ttl_secs", with = "secs")]
    pub token_ttl: Duration,
    /// Rules (`[[forward_auth.rules]]`), first match wins.
    pub rules: Vec<Rule>,
}

impl Default for ForwardAuthConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(60),
            rules: Vec::new(),
        }
    }
}

/// One rule: which requests it covers and what it demands of them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Host the rule covers (`example.com` or `*.example.com`); any host when absent.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix, matched on whole segments (`/api` covers `/api` and `/api/x`, not `/apix`).
    #[serde(default = "root")]
    pub path_prefix: String,
    /// Methods the rule covers (upper case); all when empty.
    #[serde(default)]
    pub methods: Vec<String>,
    /// `aud` of the internal token: the upstream service. Required unless `public`.
    #[serde(default)]
    pub audience: Option<String>,
    /// Roles the session must all carry.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Least acceptable `acr` (`aal1`, `aal2`).
    #[serde(default)]
    pub acr: Option<String>,
    /// Largest acceptable authentication age, in seconds: RFC 9470's `max_age`, passed to
    /// the client as written.
    #[serde(default)]
    pub max_age: Option<i64>,
    /// Let requests through without a token (identity headers are still sent when one is valid).
    #[serde(default)]
    pub public: bool,
}

fn root() -> String {
    "/".to_owned()
}

impl ForwardAuthConfig {
    /// Checks the rules once at start-up, so a rule that could never match as meant (or that
    /// would let everything through) stops the start instead.
    ///
    /// # Errors
    /// The first bad value, naming its rule.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive("forward_auth.token_ttl_secs", self.token_ttl.is_zero())?;
        for (i, rule) in self.rules.iter().enumerate() {
            let bad = |key: &str, what: &str| {
                Err(InvalidValue::new(
                    format!("forward_auth.rules[{i}].{key}"),
                    what,
                ))
            };
            if !rule.path_prefix.starts_with('/') {
                return bad("path_prefix", "must start with '/'");
            }
            if !rule.public && rule.audience.as_deref().is_none_or(str::is_empty) {
                return bad("audience", "is required unless public = true");
            }
            if let Some(acr) = &rule.acr
                && Assurance::from_acr(acr).is_none()
            {
                return bad("acr", "must be aal1 or aal2");
            }
            if rule.max_age.is_some_and(|a| a < 0) {
                return bad("max_age", "must not be negative");
            }
        }
        Ok(())
    }
}
