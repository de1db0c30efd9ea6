//! Configuration: defaults, then a TOML file, then `PORTCULLIS_*` environment variables
//! (`PORTCULLIS_SECTION__KEY` for nested keys). Validated once at start-up; unknown keys are
//! refused so a typo fails fast with the key's name.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use portcullis_core::login::ChallengeLimits;
use portcullis_core::password::{Argon2Params, PasswordPolicy};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `PORTCULLIS_*` variables that are read by the CLI or by scripts/fuzz (which the test command
/// runs), not configuration keys (`PORTCULLIS_TEST_*` belong to the test command and are
/// skipped too).
const NOT_CONFIG_ENV: &[&str] = &["config", "user_password", "fuzz_seconds"];

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded default keeps everything it writes.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in the data directory.
    pub database_url: Option<String>,
    /// Public base URL, used in mail links and as the token issuer; default from `listen`.
    pub public_url: Option<String>,
    /// `aud` of access tokens.
    pub audience: String,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Token and session lifetimes.
    pub tokens: TokenConfig,
    /// Password hashing and policy.
    pub password: PasswordConfig,
    /// Login challenge bounds and back-off.
    pub login: LoginConfig,
    /// Request rate limits.
    pub rate_limit: RateLimitConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Cross-origin requests.
    pub cors: CorsConfig,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate and key (PEM); plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// Roles whose sessions may call `POST /v1/introspect`.
    pub introspection_roles: Vec<String>,
    /// Second factors.
    pub mfa: MfaConfig,
    /// SMS delivery.
    pub sms: crate::sms::SmsConfig,
    /// WebAuthn relying party.
    pub webauthn: WebauthnConfig,
    /// Forward authentication rules for reverse proxies (`GET /v1/forward-auth`).
    pub forward_auth: crate::services::forward_auth::ForwardAuthConfig,
    /// `redis://…` (also `PORTCULLIS_REDIS_URL`): when set, rate limits are counted across
    /// every node and revocations reach every node at once through Redis.
    #[serde(serialize_with = "redact")]
    pub redis_url: Option<SecretString>,
    /// Running several nodes on one database.
    pub cluster: ClusterConfig,
    /// DualConfirm: rotating words for advisors and clients on calls.
    pub dualconfirm: DualConfirmConfig,
}

/// DualConfirm timing and limits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DualConfirmConfig {
    /// Seconds per word window.
    pub window_secs: i64,
    /// Seconds into a window during which the previous window's word is still accepted.
    pub grace_secs: i64,
    /// A party inactive this long (seconds) ends the pair's session.
    pub inactivity_secs: i64,
    /// Checks of a heard word allowed per party and window.
    pub max_checks_per_window: u32,
}

impl Default for DualConfirmConfig {
    fn default() -> Self {
        Self {
            window_secs: 60,
            grace_secs: 10,
            inactivity_secs: 180,
            max_checks_per_window: 5,
        }
    }
}

/// Several nodes on one database (and, optionally, one Redis).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// How often a node reads the revocations other nodes (or the CLI) wrote, in
    /// milliseconds; with Redis, announcements make this a fallback.
    pub revocation_poll_ms: u64,
    /// How long a Redis command may take before the node falls back to its own counters.
    pub redis_timeout_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_prefix: "portcullis:".into(),
            revocation_poll_ms: 500,
            redis_timeout_ms: 250,
        }
    }
}

/// WebAuthn relying party settings.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnConfig {
    /// Relying party id (a domain); default: the public URL's host, or `localhost` when that
    /// is an IP address.
    pub rp_id: Option<String>,
    /// Origins browsers call from; default: the public URL (with `localhost` in place of a
    /// loopback IP).
    pub origins: Vec<String>,
}

/// Second factors.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Issuer shown by authenticator apps.
    pub totp_issuer: String,
    /// Managing factors needs an authentication at most this old (seconds); older sessions
    /// are asked to step up.
    pub fresh_auth_secs: i64,
    /// Lifetime of a code sent by e-mail or SMS, in seconds.
    pub otp_ttl_secs: i64,
    /// Wrong answers a sent code survives.
    pub otp_max_attempts: i64,
    /// Codes that may be sent to one account on one channel per 15 minutes.
    pub otp_max_sends: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            totp_issuer: "Portcullis".into(),
            fresh_auth_secs: 300,
            otp_ttl_secs: 300,
            otp_max_attempts: 5,
            otp_max_sends: 5,
        }
    }
}

/// Certificate and key for serving HTTPS.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_url: None,
            audience: "portcullis".into(),
            log_format: LogFormat::Pretty,
            tokens: TokenConfig::default(),
            password: PasswordConfig::default(),
            login: LoginConfig::default(),
            rate_limit: RateLimitConfig::default(),
            mail: MailConfig::default(),
            cors: CorsConfig::default(),
            max_body_bytes: 64 * 1024,
            tls: None,
            introspection_roles: vec!["admin".into(), "service".into()],
            mfa: MfaConfig::default(),
            sms: crate::sms::SmsConfig::default(),
            webauthn: WebauthnConfig::default(),
            forward_auth: Default::default(),
            redis_url: None,
            cluster: ClusterConfig::default(),
            dualconfirm: DualConfirmConfig::default(),
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Token and session lifetimes, in seconds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Access token lifetime.
    pub access_ttl_secs: i64,
    /// Refresh token lifetime.
    pub refresh_ttl_secs: i64,
    /// A session ends after this much inactivity.
    pub session_idle_secs: i64,
    /// A session ends this long after login whatever happens.
    pub session_absolute_secs: i64,
    /// Clock skew tolerated when checking `exp`/`nbf`.
    pub leeway_secs: i64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 600,
            refresh_ttl_secs: 14 * 86_400,
            session_idle_secs: 2 * 86_400,
            session_absolute_secs: 30 * 86_400,
            leeway_secs: 30,
        }
    }
}

/// Password hashing parameters and policy.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// argon2id parameters.
    pub argon2: Argon2Params,
    /// NIST SP 800-63B policy.
    pub policy: PasswordPolicy,
    /// How many hashes may run at once (default: the number of cores).
    pub max_concurrent_hashes: Option<usize>,
}

/// Login challenge bounds and back-off after failures.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Challenge lifetime and failure bound.
    pub challenge: ChallengeLimits,
    /// Failures allowed before back-off starts.
    pub free_failures: i64,
    /// First back-off delay; doubles with each further failure.
    pub backoff_base_secs: i64,
    /// Longest back-off delay (never a permanent lock).
    pub backoff_max_secs: i64,
    /// Roles whose members need this many factors (DESIGN §2); `*` applies to everyone.
    /// Someone who enrolled a second factor always needs two.
    pub required_factors: std::collections::BTreeMap<String, usize>,
    /// Which second factors satisfy MFA for a role, e.g. `admin = ["passkey", "totp"]`;
    /// roles without an entry accept every kind.
    pub mfa_factors: std::collections::BTreeMap<String, Vec<portcullis_core::login::FactorKind>>,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            challenge: ChallengeLimits::default(),
            free_failures: 3,
            backoff_base_secs: 1,
            backoff_max_secs: 900,
            required_factors: std::collections::BTreeMap::new(),
            mfa_factors: std::collections::BTreeMap::new(),
        }
    }
}

/// Request rate limits (GCRA), per minute with a burst.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Any request, per client IP.
    pub per_ip_per_minute: u32,
    /// Login, registration and password-reset requests, per client IP.
    pub auth_per_ip_per_minute: u32,
    /// Login attempts per account (keyed by the e-mail's blind index).
    pub per_account_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 600,
            auth_per_ip_per_minute: 60,
            per_account_per_minute: 10,
        }
    }
}

/// Outgoing mail.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `file` (development: .eml files under `data_dir/mail`) or `smtp`.
    pub transport: MailTransportKind,
    /// Sender address.
    pub from: String,
    /// SMTP relay host.
    pub smtp_host: String,
    /// SMTP relay port.
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_security: SmtpSecurity,
    /// SMTP user name, if the relay wants one.
    pub smtp_username: Option<String>,
    /// SMTP password (also from `PORTCULLIS_MAIL__SMTP_PASSWORD`).
    #[serde(serialize_with = "redact")]
    pub smtp_password: Option<SecretString>,
    /// Delivery attempts before a message is given up.
    pub max_attempts: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransportKind::File,
            from: "Portcullis <no-reply@localhost>".into(),
            smtp_host: "localhost".into(),
            smtp_port: 25,
            smtp_security: SmtpSecurity::None,
            smtp_username: None,
            smtp_password: None,
            max_attempts: 8,
        }
    }
}

pub(crate) fn redact<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) if !secret.expose_secret().is_empty() => s.serialize_str("<redacted>"),
        _ => s.serialize_none(),
    }
}

/// Mail transport.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// Write .eml files.
    File,
    /// Relay over SMTP.
    Smtp,
}

/// SMTP connection security.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain (local relays, tests).
    None,
    /// STARTTLS upgrade.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// Cross-origin resource sharing.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser (exact match).
    pub allowed_origins: Vec<String>,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a wrong type or value, or is unknown.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if given, it must exist), then the environment.
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("PORTCULLIS_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    !k.starts_with("test_") && !NOT_CONFIG_ENV.contains(&k.as_str())
                })
                .split("__"),
        );
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.tokens;
        let positive = [
            ("tokens.access_ttl_secs", t.access_ttl_secs),
            ("tokens.refresh_ttl_secs", t.refresh_ttl_secs),
            ("tokens.session_idle_secs", t.session_idle_secs),
            ("tokens.session_absolute_secs", t.session_absolute_secs),
            (
                "login.challenge.lifetime_secs",
                self.login.challenge.lifetime_secs,
            ),
        ];
        for (key, v) in positive {
            if v <= 0 {
                return Err(ConfigError::Invalid(format!("{key} must be positive")));
            }
        }
        if self.password.policy.min_len < 8 || self.password.policy.max_len < 64 {
            return Err(ConfigError::Invalid(
                "password.policy: min_len must be >= 8 and max_len >= 64 (NIST SP 800-63B)".into(),
            ));
        }
        self.forward_auth.validate().map_err(ConfigError::Invalid)?;
        portcullis_core::password::PasswordHasher::new(self.password.argon2)
            .map_err(|e| ConfigError::Invalid(format!("password.argon2: {e}")))?;
        for origin in &self.cors.allowed_origins {
            if origin.parse::<axum::http::HeaderValue>().is_err() {
                return Err(ConfigError::Invalid(format!(
                    "cors.allowed_origins: bad origin {origin:?}"
                )));
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(
                "public_url must start with http:// or https://".into(),
            ));
        }
        if [
            self.rate_limit.per_ip_per_minute,
            self.rate_limit.auth_per_ip_per_minute,
            self.rate_limit.per_account_per_minute,
        ]
        .contains(&0)
        {
            return Err(ConfigError::Invalid(
                "rate_limit values must be positive".into(),
            ));
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !url.starts_with("redis://") {
                return Err(ConfigError::Invalid(
                    "redis_url must start with redis:// (TLS to Redis is not built in; use a \
                     local proxy such as stunnel for rediss)"
                        .into(),
                ));
            }
        }
        let dc = &self.dualconfirm;
        if dc.window_secs < 2
            || !(0..dc.window_secs).contains(&dc.grace_secs)
            || dc.inactivity_secs < 1
            || dc.max_checks_per_window < 1
        {
            return Err(ConfigError::Invalid(
                "dualconfirm: window_secs must be at least 2, grace_secs below it, \
                 inactivity_secs and max_checks_per_window positive"
                    .into(),
            ));
        }
        if !(10..=60_000).contains(&self.cluster.revocation_poll_ms)
            || !(1..=10_000).contains(&self.cluster.redis_timeout_ms)
        {
            return Err(ConfigError::Invalid(
                "cluster.revocation_poll_ms must be 10 to 60000 and cluster.redis_timeout_ms 1 to 10000"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("portcullis.db").display())
        })
    }

    /// The public base URL in effect, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{}", self.listen)
            })
            .trim_end_matches('/')
            .to_owned()
    }

    /// The `iss` of our tokens.
    pub fn issuer(&self) -> String {
        self.public_url()
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml_string(self)
    }
}

fn toml_string(config: &Config) -> String {
    let value = match serde_json::to_value(config) {
        Ok(v) => v,
        Err(e) => return format!("# could not render configuration: {e}"),
    };
    let mut out = String::new();
    render_toml(&value, "", &mut out);
    out
}

fn render_toml(value: &serde_json::Value, prefix: &str, out: &mut String) {
    let Some(map) = value.as_object() else { return };
    for (k, v) in map {
        if !v.is_object() && !v.is_null() {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    for (k, v) in map {
        if v.is_object() {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push_str(&format!("\n[{name}]\n"));
            render_toml(v, &name, out);
        }
    }
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
            assert!(c.database_url().starts_with("sqlite://"));
            Ok(())
        });
    }

    #[test]
    fn env_overrides_and_unknown_keys_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORTCULLIS_LISTEN", "127.0.0.1:9999");
            jail.set_env("PORTCULLIS_TOKENS__ACCESS_TTL_SECS", "60");
            let c = Config::load(None).unwrap();
            assert_eq!(c.listen.port(), 9999);
            assert_eq!(c.tokens.access_ttl_secs, 60);
            jail.set_env("PORTCULLIS_TOKENS__ACCES_TTL", "60");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("acces_ttl"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn cli_and_test_variables_are_not_config_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORTCULLIS_USER_PASSWORD", "x");
            jail.set_env("PORTCULLIS_TEST_PG_URL", "postgres://x");
            jail.set_env("PORTCULLIS_CONFIG", "none.toml");
            jail.set_env("PORTCULLIS_FUZZ_SECONDS", "5");
            jail.set_env("PORTCULLIS_TEST_SKIP_LINT", "1");
            assert!(Config::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("p.toml", "[tokens]\naccess_ttl_secs = \"soon\"\n")?;
            let err = Config::load(Some(Path::new("p.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("tokens.access_ttl_secs"), "{err}");
            jail.create_file("q.toml", "[tokens]\naccess_ttl_secs = -5\n")?;
            let err = Config::load(Some(Path::new("q.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("tokens.access_ttl_secs"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted() {
        let mut c = Config::default();
        c.mail.smtp_password = Some(SecretString::from("hunter2-secret"));
        c.redis_url = Some(SecretString::from("redis://:sesame-open@cache:6379/"));
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("sesame"), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 2, "{shown}");
        assert!(
            !format!("{c:?}").contains("sesame"),
            "Debug shows the Redis password"
        );
    }

    #[test]
    fn redis_comes_from_portcullis_redis_url_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PORTCULLIS_REDIS_URL", "redis://127.0.0.1:6379/");
            jail.set_env("PORTCULLIS_CLUSTER__REVOCATION_POLL_MS", "250");
            let c = Config::load(None).unwrap();
            assert_eq!(
                c.redis_url.as_ref().map(|u| u.expose_secret().to_owned()),
                Some("redis://127.0.0.1:6379/".to_owned())
            );
            assert_eq!(c.cluster.revocation_poll_ms, 250);
            jail.set_env("PORTCULLIS_REDIS_URL", "http://127.0.0.1:6379/");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("redis_url"), "{err}");
            jail.set_env("PORTCULLIS_REDIS_URL", "redis://127.0.0.1:6379/");
            jail.set_env("PORTCULLIS_CLUSTER__REVOCATION_POLL_MS", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("cluster.revocation_poll_ms"), "{err}");
            Ok(())
        });
    }
}
