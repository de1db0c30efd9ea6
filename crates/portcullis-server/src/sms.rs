//! Sending SMS: providers behind one type.
//!
//! - `twilio`: Twilio's Messages resource as its REST API defines it: a form-encoded `POST`
//!   to `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with `To`, `From` and `Body`,
//!   authenticated with HTTP basic auth (account SID and auth token).
//! - `webhook`: a JSON `POST` `{"to": …, "body": …}` to a URL of the operator's, with an
//!   optional bearer secret, for any other gateway.
//! - `file` (development default): one `.txt` file per message under `data_dir/sms`.

pub use crate::config::{SmsConfig, SmsProvider};

use crate::config::Secret;
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[error("SMS delivery failed: {0}")]
pub struct SmsError(String);

/// A ready SMS sender.
pub enum SmsSender {
    /// `.txt` files.
    Files(PathBuf),
    /// Twilio.
    Twilio {
        /// HTTP client.
        client: reqwest::Client,
        /// Full Messages resource URL.
        url: String,
        /// Account SID (basic-auth user).
        sid: String,
        /// Auth token (basic-auth password).
        token: SecretString,
        /// Sender.
        from: String,
    },
    /// Webhook.
    Webhook {
        /// HTTP client.
        client: reqwest::Client,
        /// Target URL.
        url: String,
        /// Optional bearer secret.
        secret: Option<SecretString>,
    },
}

fn http() -> Result<reqwest::Client, SmsError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SmsError(e.to_string()))
}

impl SmsSender {
    /// Builds the configured sender.
    ///
    /// # Errors
    /// Missing settings for the chosen provider.
    pub fn from_config(cfg: &SmsConfig, data_dir: &Path) -> Result<Self, SmsError> {
        Ok(match cfg.provider {
            SmsProvider::File => SmsSender::Files(data_dir.join("sms")),
            SmsProvider::Twilio => {
                let token = cfg
                    .twilio_auth_token
                    .clone()
                    .map(Secret::into_inner)
                    .ok_or_else(|| SmsError("sms.twilio_auth_token is required".into()))?;
                if cfg.twilio_account_sid.is_empty() || cfg.from.is_empty() {
                    return Err(SmsError(
                        "sms.twilio_account_sid and sms.from are required".into(),
                    ));
                }
                SmsSender::Twilio {
                    client: http()?,
                    url: format!(
                        "{}/2010-04-01/Accounts/{}/Messages.json",
                        cfg.twilio_base_url.as_str().trim_end_matches('/'),
                        cfg.twilio_account_sid
                    ),
                    sid: cfg.twilio_account_sid.clone(),
                    token,
                    from: cfg.from.clone(),
                }
            }
            SmsProvider::Webhook => {
                let Some(url) = &cfg.webhook_url else {
                    return Err(SmsError("sms.webhook_url is required".into()));
                };
                SmsSender::Webhook {
                    client: http()?,
                    url: url.to_string(),
                    secret: cfg.webhook_secret.clone().map(Secret::into_inner),
                }
            }
        })
    }

    /// Sends `body` to `to` (E.164).
    ///
    /// # Errors
    /// The provider refused or could not be reached.
    pub async fn send(&self, to: &str, body: &str) -> Result<(), SmsError> {
        match self {
            SmsSender::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SmsError(e.to_string()))?;
                let name = format!("{}.txt", uuid::Uuid::now_v7());
                tokio::fs::write(dir.join(name), format!("To: {to}\n\n{body}\n"))
                    .await
                    .map_err(|e| SmsError(e.to_string()))
            }
            SmsSender::Twilio {
                client,
                url,
                sid,
                token,
                from,
            } => {
                let response = client
                    .post(url)
                    .basic_auth(sid, Some(token.expose_secret()))
                    .form(&[("To", to), ("From", from.as_str()), ("Body", body)])
                    .send()
                    .await
                    .map_err(|e| SmsError(e.without_url().to_string()))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(SmsError(format!("Twilio answered {status}")))
                }
            }
            SmsSender::Webhook {
                client,
                url,
                secret,
            } => {
                let mut request = client
                    .post(url)
                    .json(&serde_json::json!({ "to": to, "body": body }));
                if let Some(secret) = secret {
                    request = request.bearer_auth(secret.expose_secret());
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| SmsError(e.without_url().to_string()))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(SmsError(format!("the SMS webhook answered {status}")))
                }
            }
        }
    }
}
