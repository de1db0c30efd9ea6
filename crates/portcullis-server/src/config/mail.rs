//! `[mail]`: how outgoing mail leaves (files in development, an SMTP relay in production),
//! and how many messages of a kind one recipient may get (the send cooldown).

use super::duration::secs;
use super::error::{InvalidValue, positive};
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Outgoing mail.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
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
    pub smtp_password: Option<Secret>,
    /// Delivery attempts before a message is given up.
    pub max_attempts: i64,
    /// Mails of one kind (a verification link, a password reset, the notice that an address
    /// is taken…) that one address may get per `recipient_window_secs`; anyone can ask for
    /// them, so further ones are dropped, and the asker is answered as if they went out.
    pub recipient_max_sends: i64,
    /// The window of `recipient_max_sends`, from the first mail counted in it.
    #[serde(rename = "recipient_window_secs", with = "secs")]
    pub recipient_window: Duration,
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
            recipient_max_sends: 3,
            recipient_window: Duration::from_secs(15 * 60),
        }
    }
}

impl MailConfig {
    /// Checks the cooldown's bounds.
    ///
    /// # Errors
    /// A bound of zero or less, naming its key.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        positive("mail.recipient_max_sends", self.recipient_max_sends <= 0)?;
        positive(
            "mail.recipient_window_secs",
            self.recipient_window.is_zero(),
        )
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
