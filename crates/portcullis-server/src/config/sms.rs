//! `[sms]`: which provider sends SMS codes and its credentials. Whether the chosen provider
//! has everything it needs is checked when the sender is built (`sms::SmsSender`), as before:
//! commands that send nothing do not need it.

use super::secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Twilio's API, the default base URL (tests point it at a local server).
const TWILIO_API: &str = "https://api.twilio.com";

/// SMS configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `file`, `twilio` or `webhook`.
    pub provider: SmsProvider,
    /// Twilio API base URL.
    pub twilio_base_url: Url,
    /// Twilio account SID.
    pub twilio_account_sid: String,
    /// Twilio auth token (also from `PORTCULLIS_SMS__TWILIO_AUTH_TOKEN`).
    pub twilio_auth_token: Option<Secret>,
    /// Sender number (E.164) or messaging service.
    pub from: String,
    /// Webhook URL; an empty string (as older `portcullis config` printed) means none.
    #[serde(deserialize_with = "empty_is_none")]
    pub webhook_url: Option<Url>,
    /// Bearer secret sent to the webhook.
    pub webhook_secret: Option<Secret>,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::File,
            twilio_base_url: twilio_api(),
            twilio_account_sid: String::new(),
            twilio_auth_token: None,
            from: String::new(),
            webhook_url: None,
            webhook_secret: None,
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "a constant that parses (tested), needed by an infallible Default"
)]
fn twilio_api() -> Url {
    Url::parse(TWILIO_API).expect("TWILIO_API is a URL")
}

fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Url::parse(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// Which SMS provider.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Files in the data directory (development).
    File,
    /// Twilio's REST API.
    Twilio,
    /// A generic JSON webhook.
    Webhook,
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Format as _;

    #[test]
    fn the_default_twilio_url_parses_and_an_empty_webhook_url_is_none() {
        assert_eq!(twilio_api().as_str(), "https://api.twilio.com/");
        let parsed: SmsConfig = figment::Figment::new()
            .merge(figment::providers::Toml::string("webhook_url = \"\""))
            .extract()
            .unwrap_or_default();
        assert_eq!(parsed.webhook_url, None);
        let parsed: Result<SmsConfig, _> = figment::Figment::new()
            .merge(figment::providers::Toml::string(
                "webhook_url = \"not a url\"",
            ))
            .extract();
        assert!(parsed.is_err());
    }
}
