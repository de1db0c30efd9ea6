//! Webhooks as the Standard Webhooks specification (<https://www.standardwebhooks.com/>) has
//! them: the account events a subscription can ask for, its secret (`whsec_` and the base64 of
//! random bytes), the `v1,` signature over `{id}.{timestamp}.{body}` (HMAC-SHA256, from the
//! `hmac` crate), and the retry schedule. Pure: the caller gives the time and the randomness,
//! so the signature can be checked against the specification's own example.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use std::fmt;

use crate::entropy::Entropy;

/// Bytes of a new secret (the specification allows 24 to 64).
pub const SECRET_BYTES: usize = 32;
/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a receiver lets a timestamp drift from its clock (the specification's 5 minutes).
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// What happened to an account: the `type` of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An account was created (registration or an operator).
    Created,
    /// Its e-mail address was verified.
    Verified,
    /// Its profile, roles or status (other than disabled or deleted) changed.
    Updated,
    /// An operator disabled it.
    Disabled,
    /// It was deleted (its personal data destroyed).
    Deleted,
}

impl EventType {
    /// Every event type, in the order of their bits.
    pub const ALL: [EventType; 5] = [
        EventType::Created,
        EventType::Verified,
        EventType::Updated,
        EventType::Disabled,
        EventType::Deleted,
    ];

    /// The name in payloads and subscriptions, e.g. `account.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "account.created",
            EventType::Verified => "account.verified",
            EventType::Updated => "account.updated",
            EventType::Disabled => "account.disabled",
            EventType::Deleted => "account.deleted",
        }
    }

    /// The type's bit in an [`EventSet`] (stored as an integer, so the database can select
    /// the subscriptions of an event with `events & bit`).
    pub fn bit(self) -> i64 {
        match self {
            EventType::Created => 1,
            EventType::Verified => 2,
            EventType::Updated => 4,
            EventType::Disabled => 8,
            EventType::Deleted => 16,
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event types a subscription wants: never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventSet(i64);

impl EventSet {
    /// Every type.
    pub fn all() -> Self {
        Self(EventType::ALL.iter().map(|t| t.bit()).sum())
    }

    /// The set named by `names`; empty means every type.
    ///
    /// # Errors
    /// The first name that is no event type.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        if names.is_empty() {
            return Ok(Self::all());
        }
        let mut bits = 0;
        for name in names {
            let t =
                EventType::parse(name.as_ref().trim()).ok_or_else(|| name.as_ref().to_owned())?;
            bits |= t.bit();
        }
        Ok(Self(bits))
    }

    /// The set stored as `bits`, dropping unknown bits; `None` when nothing is left.
    pub fn from_bits(bits: i64) -> Option<Self> {
        let known = bits & Self::all().0;
        (known != 0).then_some(Self(known))
    }

    /// The stored form.
    pub fn bits(self) -> i64 {
        self.0
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The names, in the order of [`EventType::ALL`].
    pub fn names(self) -> Vec<&'static str> {
        EventType::ALL
            .into_iter()
            .filter(|t| self.contains(*t))
            .map(EventType::as_str)
            .collect()
    }
}

/// A subscription's signing secret. Printed only by [`WebhookSecret::expose_whsec`], for the
/// one answer that shows it; `Debug` is redacted.
pub struct WebhookSecret(SecretSlice<u8>);

impl WebhookSecret {
    /// A new secret of [`SECRET_BYTES`] random bytes.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut raw = vec![0u8; SECRET_BYTES];
        entropy.fill(&mut raw);
        Self(raw.into())
    }

    /// The secret of these bytes (as the store opens them).
    ///
    /// # Errors
    /// A length outside 24..=64 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, WebhookError> {
        if (24..=64).contains(&bytes.len()) {
            Ok(Self(bytes.into()))
        } else {
            Err(WebhookError::BadSecret)
        }
    }

    /// The secret of its text form `whsec_<base64>`.
    ///
    /// # Errors
    /// Another prefix, bad base64 or a bad length.
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let b64 = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::BadSecret)?;
        let bytes = STANDARD.decode(b64).map_err(|_| WebhookError::BadSecret)?;
        Self::from_bytes(bytes)
    }

    /// The raw bytes (to seal them for storage).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The text form `whsec_<base64>`, shown once to the subscriber.
    pub fn expose_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0.expose_secret()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        match Hmac::<Sha256>::new_from_slice(self.0.expose_secret()) {
            Ok(mac) => mac,
            Err(_) => unreachable_mac(),
        }
    }

    /// The signature `v1,<base64>` of one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(&signed_content_prefix(msg_id, timestamp));
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Checks a `webhook-signature` header (space-separated `v1,…` signatures; one must match)
    /// and that `timestamp` is within [`TOLERANCE_SECS`] of `now`, as a receiver does.
    ///
    /// # Errors
    /// [`WebhookError::Stale`] or [`WebhookError::BadSignature`].
    pub fn verify(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
        header: &str,
        now: i64,
    ) -> Result<(), WebhookError> {
        if (now - timestamp).abs() > TOLERANCE_SECS {
            return Err(WebhookError::Stale);
        }
        for candidate in header.split(' ') {
            let Some(b64) = candidate.strip_prefix("v1,") else {
                continue;
            };
            let Ok(sig) = STANDARD.decode(b64) else {
                continue;
            };
            let mut mac = self.mac();
            mac.update(&signed_content_prefix(msg_id, timestamp));
            mac.update(body);
            // Constant-time comparison (hmac's verify_slice).
            if mac.verify_slice(&sig).is_ok() {
                return Ok(());
            }
        }
        Err(WebhookError::BadSignature)
    }
}

#[cold]
fn unreachable_mac() -> Hmac<Sha256> {
    // `new_from_slice` refuses no key length for HMAC; keep a total function all the same.
    #[expect(clippy::unwrap_used, reason = "a 32-byte key is always accepted")]
    Hmac::<Sha256>::new_from_slice(&[0u8; 32]).unwrap()
}

fn signed_content_prefix(msg_id: &str, timestamp: i64) -> Vec<u8> {
    format!("{msg_id}.{timestamp}.").into_bytes()
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header for a message: one signature per secret (the current one
/// first, then the previous one during a rotation's grace period), separated by spaces.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// When to try a delivery again, or whether to give it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after which a delivery is given up.
    pub max_attempts: i64,
    /// Age of the event (seconds) after which a delivery is given up.
    pub max_age: i64,
    /// The delay after the first failure (seconds); it doubles after each.
    pub base_delay: i64,
    /// The longest delay (seconds).
    pub max_delay: i64,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time (unix seconds).
    RetryAt(i64),
    /// Give the delivery up (later events of the account go on).
    GiveUp,
}

impl RetryPolicy {
    /// The decision after failed attempt number `attempts` (1 for the first) of an event
    /// created at `created_at`, at `now`.
    pub fn after_failure(&self, attempts: i64, created_at: i64, now: i64) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let exponent = u32::try_from((attempts - 1).clamp(0, 40)).unwrap_or(40);
        let delay = self
            .base_delay
            .saturating_mul(2i64.saturating_pow(exponent))
            .min(self.max_delay);
        let at = now.saturating_add(delay);
        if at - created_at > self.max_age {
            AfterFailure::GiveUp
        } else {
            AfterFailure::RetryAt(at)
        }
    }
}

/// Why a webhook value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A secret that is not `whsec_` and the base64 of 24 to 64 bytes.
    #[error("not a webhook secret")]
    BadSecret,
    /// No signature of the header matches.
    #[error("no matching signature")]
    BadSignature,
    /// The timestamp is too far from now.
    #[error("timestamp outside the tolerance")]
    Stale,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::entropy::CountingEntropy;

    /// The example of the specification (and of every reference library).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specification_example() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(secret.sign(SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIG);
        secret
            .verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG, SPEC_TS + 10)
            .unwrap();
    }

    #[test]
    fn verify_refuses_changes_and_stale_timestamps() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let other = WebhookSecret::generate(&CountingEntropy::default());
        let both = signature_header(&[&other, &secret], SPEC_ID, SPEC_TS, SPEC_BODY);
        secret
            .verify(SPEC_ID, SPEC_TS, SPEC_BODY, &both, SPEC_TS)
            .unwrap();
        assert_eq!(
            secret.verify(SPEC_ID, SPEC_TS, b"{\"test\": 1}", SPEC_SIG, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            secret.verify("msg_other", SPEC_TS, SPEC_BODY, SPEC_SIG, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            secret.verify(
                SPEC_ID,
                SPEC_TS,
                SPEC_BODY,
                SPEC_SIG,
                SPEC_TS + TOLERANCE_SECS + 1
            ),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            other.verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn secrets_round_trip_and_do_not_print() {
        let s = WebhookSecret::generate(&CountingEntropy::default());
        let text = s.expose_whsec();
        assert!(text.starts_with("whsec_"));
        assert_eq!(
            WebhookSecret::parse(&text).unwrap().expose_bytes(),
            s.expose_bytes()
        );
        assert!(!format!("{s:?}").contains(&text[6..]));
        assert_eq!(
            WebhookSecret::parse("whsec_AAAA").err(),
            Some(WebhookError::BadSecret)
        );
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
            Some(WebhookError::BadSecret)
        );
    }

    #[test]
    fn event_sets() {
        assert_eq!(EventSet::parse::<&str>(&[]).unwrap(), EventSet::all());
        let s = EventSet::parse(&["account.created", "account.deleted"]).unwrap();
        assert!(s.contains(EventType::Created) && !s.contains(EventType::Updated));
        assert_eq!(s.names(), vec!["account.created", "account.deleted"]);
        assert_eq!(
            EventSet::parse(&["account.nope"]),
            Err("account.nope".to_owned())
        );
        assert_eq!(EventSet::from_bits(s.bits()), Some(s));
        assert_eq!(EventSet::from_bits(64), None);
    }

    #[test]
    fn retries_back_off_and_give_up() {
        let p = RetryPolicy {
            max_attempts: 5,
            max_age: 1000,
            base_delay: 10,
            max_delay: 60,
        };
        assert_eq!(p.after_failure(1, 0, 0), AfterFailure::RetryAt(10));
        assert_eq!(p.after_failure(2, 0, 100), AfterFailure::RetryAt(120));
        assert_eq!(p.after_failure(3, 0, 100), AfterFailure::RetryAt(140));
        assert_eq!(p.after_failure(4, 0, 100), AfterFailure::RetryAt(160));
        assert_eq!(p.after_failure(5, 0, 100), AfterFailure::GiveUp);
        assert_eq!(p.after_failure(1, 0, 995), AfterFailure::GiveUp);
    }
}
