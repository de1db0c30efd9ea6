//! The plain password and the policy a new one must meet (NIST SP 800-63B, zxcvbn).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::contact::Email;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// A plain password as typed by a user. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password. No rule is checked here: a login must be able to try any input;
    /// [`PasswordPolicy::check`] decides whether a new password is acceptable.
    pub fn new(password: String) -> Self {
        Self(SecretString::from(password))
    }

    /// The plain text, for hashing and strength estimation only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a new password must satisfy. Read from configuration; missing keys take the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values). Default 8, the NIST minimum.
    pub min_len: usize,
    /// Most characters. Default 128; bounds the cost of hashing.
    pub max_len: usize,
    /// Lowest acceptable zxcvbn score, 0 to 4. Default 3 ("safely unguessable").
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_len: 8,
            max_len: 128,
            min_score: 3,
        }
    }
}

/// Why a new password was refused. `Display` is written for the user; [`Self::code`] is a
/// stable machine-readable reason for API responses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Fewer characters than the policy's minimum.
    #[error("password is too short: use at least {min} characters")]
    TooShort {
        /// The minimum length.
        min: usize,
    },
    /// More characters than the policy's maximum.
    #[error("password is too long: use at most {max} characters")]
    TooLong {
        /// The maximum length.
        max: usize,
    },
    /// The password contains the account's e-mail address (its local part).
    #[error("password must not contain your e-mail address")]
    ContainsEmail,
    /// The strength estimate is below the policy's minimum.
    #[error("password is too easy to guess (strength {score} of 4){}", describe_feedback(.warning, .suggestions))]
    TooWeak {
        /// zxcvbn's score, 0 to 4.
        score: u8,
        /// zxcvbn's explanation of the weakness, if any.
        warning: Option<String>,
        /// zxcvbn's advice for a stronger password.
        suggestions: Vec<String>,
    },
}

impl PasswordRejection {
    /// A stable identifier: `too_short`, `too_long`, `contains_email` or `too_weak`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::ContainsEmail => "contains_email",
            Self::TooWeak { .. } => "too_weak",
        }
    }
}

/// Formats zxcvbn's feedback as sentences after the main message.
fn describe_feedback(warning: &Option<String>, suggestions: &[String]) -> String {
    let mut out = String::new();
    for sentence in warning.iter().chain(suggestions) {
        out.push_str(if out.is_empty() { ": " } else { " " });
        out.push_str(sentence);
    }
    out
}

/// Shortest e-mail local part worth refusing inside a password; shorter ones ("al", "x")
/// would refuse many unrelated passwords.
const MIN_LOCAL_PART_CHARS: usize = 3;

impl PasswordPolicy {
    /// Checks a new password against the policy (NIST SP 800-63B).
    ///
    /// In order: the length in Unicode scalar values must lie in `min_len..=max_len`; the
    /// password must not contain the e-mail's local part (case-insensitively, when that part
    /// has at least 3 characters); zxcvbn's score must reach `min_score`, with the e-mail
    /// address, its parts and `user_inputs` (names, the service name…) given to zxcvbn so
    /// passwords built from them score low.
    ///
    /// # Errors
    /// Returns the first [`PasswordRejection`] that applies.
    pub fn check(
        &self,
        password: &Password,
        email: Option<&Email>,
        user_inputs: &[&str],
    ) -> Result<(), PasswordRejection> {
        let plain = password.expose();
        let len = plain.chars().count();
        if len < self.min_len {
            return Err(PasswordRejection::TooShort { min: self.min_len });
        }
        if len > self.max_len {
            return Err(PasswordRejection::TooLong { max: self.max_len });
        }
        let mut inputs: Vec<&str> = user_inputs.to_vec();
        if let Some(email) = email {
            let local = email.local_part();
            if local.chars().count() >= MIN_LOCAL_PART_CHARS && plain.to_lowercase().contains(local)
            {
                return Err(PasswordRejection::ContainsEmail);
            }
            inputs.extend([email.as_str(), local, email.domain()]);
            inputs.extend(email.domain().split('.'));
            inputs.extend(
                local
                    .split(['.', '_', '-', '+'])
                    .filter(|piece| piece.chars().count() >= MIN_LOCAL_PART_CHARS),
            );
        }
        let entropy = zxcvbn::zxcvbn(plain, &inputs);
        let score = u8::from(entropy.score());
        if score < self.min_score {
            let feedback = entropy.feedback();
            return Err(PasswordRejection::TooWeak {
                score,
                warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
                suggestions: feedback
                    .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}
