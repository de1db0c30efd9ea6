//! The send cooldown: at most so many messages of one kind to one recipient per window, so
//! nobody can flood an address or a phone through us.
//!
//! Anyone may ask us to mail an address (a password reset, a registration that finds the
//! address taken), and anyone with an account may have a code texted to a number of their
//! choosing; without a bound, fifty requests are fifty messages to a victim. Each producer
//! asks [`admit`] before it does anything else (before it mints a link or a code, so a dropped
//! message never replaces one that went out), and when the answer is no it skips the message
//! and answers its caller exactly as if it had gone: the status, the body and the work left
//! (a counted send, an audit entry) stay the same, so the bound reveals nothing about the
//! recipient.
//!
//! The count lives in the store (`send_cooldown`), so every node shares it, and it is keyed
//! by a keyed hash of the recipient in a domain of its own: never the address or the number,
//! and not the account's e-mail index either, so the table cannot be joined to accounts.
//! Suppressed messages are counted in `portcullis_messages_suppressed_total{kind}`, logged
//! and audited with their kind only.

use portcullis_core::ids::AccountId;
use serde_json::json;

use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::{audit, otp};
use crate::state::AppState;

/// Blind-index domain of cooldown recipients.
const RECIPIENT_INDEX: &str = "send-cooldown";

/// A kind of message, counted on its own: a flood of one kind does not stop the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// The link that verifies a new account's address.
    Verification,
    /// A password-reset link.
    PasswordReset,
    /// The notice that someone tried to register with an address that has an account.
    AddressTaken,
    /// The notice that a recovery code was used.
    RecoveryCodeUsed,
    /// A one-time code by e-mail.
    EmailCode,
    /// A one-time code by SMS.
    SmsCode,
}

impl Message {
    /// The kind's name: in the store, the metric label and the audit entry.
    pub const fn as_str(self) -> &'static str {
        match self {
            Message::Verification => "verification",
            Message::PasswordReset => "password_reset",
            Message::AddressTaken => "address_taken",
            Message::RecoveryCodeUsed => "recovery_code_used",
            Message::EmailCode => "email_code",
            Message::SmsCode => "sms_code",
        }
    }

    /// What the recipient is: mail goes to an address, a text to a phone number.
    const fn medium(self) -> &'static str {
        match self {
            Message::SmsCode => "phone",
            Message::Verification
            | Message::PasswordReset
            | Message::AddressTaken
            | Message::RecoveryCodeUsed
            | Message::EmailCode => "email",
        }
    }

    /// How many of this kind one recipient may get, and per how many seconds. Codes keep the
    /// bound they have per account (`mfa.otp_max_sends` per 15 minutes), now per recipient
    /// too; every other mail has `[mail] recipient_max_sends` per `recipient_window_secs`.
    fn bound(self, state: &AppState) -> (i64, i64) {
        match self {
            Message::EmailCode | Message::SmsCode => {
                (state.config.mfa.otp_max_sends, otp::SEND_WINDOW_SECS)
            }
            Message::Verification
            | Message::PasswordReset
            | Message::AddressTaken
            | Message::RecoveryCodeUsed => {
                let mail = &state.config.mail;
                (
                    mail.recipient_max_sends,
                    mail.recipient_window.as_secs_i64(),
                )
            }
        }
    }
}

/// The keyed hash that stands for `recipient` (an address or an E.164 number, normalised).
fn recipient_key(state: &AppState, kind: Message, recipient: &str) -> Vec<u8> {
    let value = format!("{}:{}", kind.medium(), recipient.trim().to_lowercase());
    state
        .keyring()
        .blind_index(RECIPIENT_INDEX, &value)
        .to_vec()
}

/// Counts a message of `kind` to `recipient` and says whether it may go out. When it may
/// not, the suppression is counted, logged and audited (for `account`, when there is one;
/// never the recipient), and the caller must answer as if it had been sent.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(message.kind = kind.as_str()))]
pub async fn admit(
    state: &AppState,
    kind: Message,
    recipient: &str,
    account: Option<AccountId>,
    client: Option<&ClientInfo>,
) -> Result<bool, ServiceError> {
    let (max, window) = kind.bound(state);
    let key = recipient_key(state, kind, recipient);
    let now = state.now();
    let sent = state
        .store
        .cooldown
        .count_send(&key, kind.as_str(), now, window)
        .await?;
    if sent <= max {
        return Ok(true);
    }
    metrics::counter!("portcullis_messages_suppressed_total", "kind" => kind.as_str()).increment(1);
    tracing::info!(
        message.kind = kind.as_str(),
        "message suppressed: its recipient got enough of its kind lately"
    );
    audit::record(
        state,
        "message.suppressed",
        account.map(|a| a.to_string()),
        None,
        client,
        json!({ "kind": kind.as_str() }),
    )
    .await?;
    Ok(false)
}

/// Forgets the counts of windows that have ended (the longest window counts).
///
/// # Errors
/// Storage failure.
pub async fn purge(state: &AppState) -> Result<u64, ServiceError> {
    let longest = state
        .config
        .mail
        .recipient_window
        .as_secs_i64()
        .max(otp::SEND_WINDOW_SECS);
    Ok(state
        .store
        .cooldown
        .purge_started_before(state.now() - longest)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name() {
        let all = [
            Message::Verification,
            Message::PasswordReset,
            Message::AddressTaken,
            Message::RecoveryCodeUsed,
            Message::EmailCode,
            Message::SmsCode,
        ];
        let mut names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
