//! Configuration: defaults, then a TOML file, then `PORTCULLIS_*` environment variables
//! (`PORTCULLIS_SECTION__KEY` for nested keys). Validated once at start-up; unknown keys are
//! refused so a typo fails fast with the key's name.
//!
//! One file per section (`[tokens]` in `tokens.rs`, …), each owning its struct, its
//! defaults and its `validate()`; this file holds the top-level keys and [`Config::validate`],
//! which asks every section once. Values are typed: durations are [`Duration`]s (the keys
//! keep their `_secs`/`_ms` suffix, see `duration.rs`), URLs are [`Url`]s, and secrets are
//! [`Secret`]/[`SecretUrl`], whose `Debug` and `Serialize` never show them — so the TOML that
//! `portcullis config` prints (`render.rs`) is redacted by construction and loads back.
//!
//! [`Duration`]: std::time::Duration

mod api_keys;
mod chain;
mod cluster;
mod connections;
mod cors;
mod dualconfirm;
mod duration;
mod error;
mod forward_auth;
mod ledger;
mod load;
mod login;
mod mail;
mod metrics;
mod mfa;
mod password;
mod pattern_otp;
mod rate_limit;
mod render;
mod secret;
mod sms;
mod tls;
mod tokens;
mod verbatim_url;
mod wallet;
mod webauthn;
mod webhooks;

#[cfg(test)]
mod tests;

pub use api_keys::ApiKeysConfig;
pub use chain::{ChainConfig, CustodyConfig};
pub use cluster::ClusterConfig;
pub use connections::ConnectionsConfig;
pub use cors::CorsConfig;
pub use dualconfirm::DualConfirmConfig;
pub use duration::DurationExt;
pub use error::{ConfigError, InvalidValue};
pub use forward_auth::{ForwardAuthConfig, Rule};
pub use ledger::{EvmLedgerConfig, LedgerBackend, LedgerConfig};
pub use login::LoginConfig;
pub use mail::{MailConfig, MailTransportKind, SmtpSecurity};
pub use metrics::MetricsConfig;
pub use mfa::MfaConfig;
pub use password::PasswordConfig;
pub use pattern_otp::PatternOtpConfig;
pub use rate_limit::RateLimitConfig;
pub use secret::{REDACTED, Secret, SecretUrl};
pub use sms::{SmsConfig, SmsProvider};
pub use tls::TlsConfig;
pub use tokens::TokenConfig;
pub use verbatim_url::VerbatimUrl;
pub use wallet::WalletConfig;
pub use webauthn::WebauthnConfig;
pub use webhooks::WebhooksConfig;

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded default keeps everything it writes.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (a password in it is a secret); default: SQLite in
    /// the data directory.
    pub database_url: Option<SecretUrl>,
    /// Public base URL, used in mail links and as the token issuer; default from `listen`.
    pub public_url: Option<VerbatimUrl>,
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
    /// `[metrics]`: who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate and key (PEM); plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// Roles whose sessions may call `POST /v1/introspect`.
    pub introspection_roles: Vec<String>,
    /// Second factors.
    pub mfa: MfaConfig,
    /// The shape of pattern OTPs.
    pub pattern_otp: PatternOtpConfig,
    /// SMS delivery.
    pub sms: SmsConfig,
    /// WebAuthn relying party.
    pub webauthn: WebauthnConfig,
    /// Forward authentication rules for reverse proxies (`GET /v1/forward-auth`).
    pub forward_auth: ForwardAuthConfig,
    /// `redis://…` (also `PORTCULLIS_REDIS_URL`): when set, rate limits are counted across
    /// every node and revocations reach every node at once through Redis.
    pub redis_url: Option<SecretUrl>,
    /// Running several nodes on one database.
    pub cluster: ClusterConfig,
    /// DualConfirm: rotating words for advisors and clients on calls.
    pub dualconfirm: DualConfirmConfig,
    /// Connection timeouts and caps against slow, idle or too many clients.
    pub connections: ConnectionsConfig,
    /// `[webhooks]`: delivery of account events to subscribers.
    pub webhooks: WebhooksConfig,
    /// `[wallet]`: Sign-In with Ethereum for hardware and browser wallets.
    pub wallet: WalletConfig,
    /// `[api_keys]`: API keys of front-end applications.
    pub api_keys: ApiKeysConfig,
    /// `[chain]`: the Ethereum JSON-RPC node (custodial wallets).
    pub chain: ChainConfig,
    /// `[custody]`: custodial wallets' spending limits and step-up.
    pub custody: CustodyConfig,
    /// `[ledger]`: where the auth and req ledgers keep their tokens.
    pub ledger: LedgerConfig,
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
            metrics: MetricsConfig::default(),
            max_body_bytes: 64 * 1024,
            tls: None,
            introspection_roles: vec!["admin".into(), "service".into()],
            mfa: MfaConfig::default(),
            pattern_otp: PatternOtpConfig::default(),
            sms: SmsConfig::default(),
            webauthn: WebauthnConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            redis_url: None,
            cluster: ClusterConfig::default(),
            dualconfirm: DualConfirmConfig::default(),
            connections: ConnectionsConfig::default(),
            webhooks: WebhooksConfig::default(),
            wallet: WalletConfig::default(),
            api_keys: ApiKeysConfig::default(),
            chain: ChainConfig::default(),
            custody: CustodyConfig::default(),
            ledger: LedgerConfig::default(),
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

impl Config {
    /// Checks every section once; [`Config::load`] calls it.
    ///
    /// # Errors
    /// The first value out of bounds, naming its key.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.tokens.validate()?;
        self.login.validate()?;
        self.password.validate()?;
        self.mail.validate()?;
        self.forward_auth.validate()?;
        self.validate_forward_audiences()?;
        self.cors.validate()?;
        self.wallet.validate()?;
        self.chain.validate()?;
        self.custody.validate()?;
        self.validate_urls()?;
        self.rate_limit.validate()?;
        self.dualconfirm.validate()?;
        self.connections.validate()?;
        self.webhooks.validate()?;
        self.pattern_otp.validate()?;
        self.api_keys.validate()?;
        self.ledger.validate(self.chain.endpoint().is_some())?;
        self.cluster.validate()
    }

    /// No forward-auth rule may address its identity token to Portcullis itself: that token
    /// is signed with our keys, so with our own audience an upstream (or anyone who reads the
    /// header on its way) could present it to our API as an access token.
    fn validate_forward_audiences(&self) -> Result<(), InvalidValue> {
        match self
            .forward_auth
            .rules
            .iter()
            .position(|r| r.audience.as_deref() == Some(self.audience.as_str()))
        {
            Some(i) => Err(InvalidValue::new(
                format!("forward_auth.rules[{i}].audience"),
                format!(
                    "must not be Portcullis's own audience ({:?}): the upstream's identity token \
                     would be accepted by the API as an access token",
                    self.audience
                ),
            )),
            None => Ok(()),
        }
    }

    /// The top-level URLs: links in mail must be web links, and TLS to Redis is not built in.
    fn validate_urls(&self) -> Result<(), InvalidValue> {
        if let Some(url) = &self.public_url
            && !matches!(url.scheme().as_str(), "http" | "https")
        {
            return Err(InvalidValue::new(
                "public_url",
                "must start with http:// or https://",
            ));
        }
        // Parsed here, as the Redis client will parse it: a value that is no URL would
        // only fail at connection, and would print (redacted whole) as something that no
        // longer loads.
        if let Some(url) = &self.redis_url
            && !(url.expose_secret().starts_with("redis://")
                && url::Url::parse(url.expose_secret()).is_ok())
        {
            return Err(InvalidValue::new(
                "redis_url",
                "must be a URL that starts with redis:// (TLS to Redis is not built in; use a \
                 local proxy such as stunnel for rediss)",
            ));
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> SecretUrl {
        self.database_url.clone().unwrap_or_else(|| {
            SecretUrl::from(format!(
                "sqlite://{}",
                self.data_dir.join("portcullis.db").display()
            ))
        })
    }

    /// The public base URL in effect, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{}", self.listen)
            }
        }
    }

    /// The `iss` of our tokens.
    pub fn issuer(&self) -> String {
        self.public_url()
    }
}
