//! `[mail]`: how outgoing mail leaves (files in development, an SMTP relay in production).

use super::secret::Secret;
use serde::{Deserialize, Serialize};

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
