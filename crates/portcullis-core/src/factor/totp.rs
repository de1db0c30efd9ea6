//! TOTP (RFC 6238) as authenticator apps speak it: SHA-1, 6 digits, 30-second steps, and
//! one step of tolerance either side for clock drift.
//!
//! The code arithmetic is `totp-rs`; what this module adds is what RFC 6238 §5.2 leaves to
//! the caller: a code (a time step) is accepted at most once, so verification takes the last
//! step used and returns the new one for the store to keep.

use std::fmt;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::entropy::Entropy;

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of the current one.
pub const SKEW: u16 = 1;
/// Secret length: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Wrong code (or malformed, or outside the tolerance window).
    #[error("the code is not valid")]
    Invalid,
    /// The code's time step was already used.
    #[error("this code was already used; wait for the next one")]
    Replayed,
    /// The stored secret is unusable.
    #[error("the TOTP secret is unusable")]
    BadSecret,
}

/// A TOTP shared secret. Never printed.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// Draws a new 160-bit secret.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        entropy.fill(&mut bytes);
        Self(bytes)
    }

    /// Wraps stored bytes (decrypted by the caller).
    ///
    /// # Errors
    /// Fewer than 128 bits, which RFC 4226 forbids.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() < 16 {
            return Err(TotpError::BadSecret);
        }
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// Reads the base32 form an authenticator app is given (what [`Self::to_base32`] writes).
    ///
    /// # Errors
    /// Not base32, or fewer than 128 bits.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let secret = Secret::try_from_base32(text).map_err(|_| TotpError::BadSecret)?;
        Self::from_bytes(secret.as_ref().to_vec())
    }

    /// The raw secret, for encryption at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 (RFC 4648, no padding), as typed into an app by hand.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.as_slice()).to_base32()
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> Result<Totp, TotpError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW)
            .with_step_duration(STEP_SECS as u64)
            .with_secret(Secret::from(self.0.as_slice()))
            .with_issuer(issuer.map(|i| i.replace(':', " ")))
            .with_account_name(account.replace(':', " "))
            .build()
            .map_err(|_| TotpError::BadSecret)
    }

    /// The `otpauth://totp/…` URI that authenticator apps scan.
    ///
    /// # Errors
    /// An unusable secret.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<String, TotpError> {
        self.totp(Some(issuer), account)?
            .to_url()
            .map_err(|_| TotpError::BadSecret)
    }

    /// The code for the step containing `now` (for tests and enrolment hints).
    ///
    /// # Errors
    /// An unusable secret.
    pub fn code_at(&self, now: i64) -> Result<String, TotpError> {
        let totp = self.totp(None, "x")?;
        Ok(totp.generate(u64::try_from(now).unwrap_or(0)).to_string())
    }

    /// Checks `code` at `now`. `last_step` is the step of the last accepted code; a code from
    /// that step or an earlier one is refused as a replay. Returns the step to store.
    ///
    /// # Errors
    /// [`TotpError::Invalid`] or [`TotpError::Replayed`].
    pub fn verify(&self, code: &str, now: i64, last_step: Option<i64>) -> Result<i64, TotpError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Invalid);
        }
        let totp = self.totp(None, "x")?;
        let now = u64::try_from(now).map_err(|_| TotpError::Invalid)?;
        let step = totp.check(&code, now).ok_or(TotpError::Invalid)?;
        let step = i64::try_from(step).map_err(|_| TotpError::Invalid)?;
        if last_step.is_some_and(|last| step <= last) {
            return Err(TotpError::Replayed);
        }
        Ok(step)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890" and 8-digit codes; we
    /// speak 6 digits, which are the last six of the RFC's values (RFC 4226 truncation).
    const RFC_SEED: &[u8] = b"12345678901234567890";
    const RFC_6238: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SEED.to_vec()).unwrap()
    }

    #[test]
    fn base32_round_trips_and_refuses_short_or_bad_text() {
        let secret = rfc_secret();
        // RFC 4648's base32 of "12345678901234567890".
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let back = TotpSecret::from_base32(&secret.to_base32()).unwrap();
        assert_eq!(back.as_bytes(), RFC_SEED);
        assert!(TotpSecret::from_base32("GEZDGNBV").is_err(), "40 bits");
        assert!(TotpSecret::from_base32("not base32 at all!").is_err());
    }

    #[test]
    fn rfc6238_vectors() {
        let s = rfc_secret();
        for (t, code8) in RFC_6238 {
            assert_eq!(s.code_at(t).unwrap(), code8[2..], "T = {t}");
            assert_eq!(s.verify(&code8[2..], t, None).unwrap(), t / 30);
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9 of the same seed; a TOTP step is
    /// the HOTP counter, so step i (time 30·i) must give the RFC's value i.
    #[test]
    fn rfc4226_hotp_vectors() {
        let hotp = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let s = rfc_secret();
        for (counter, code) in hotp.iter().enumerate() {
            assert_eq!(s.code_at(counter as i64 * 30).unwrap(), *code);
        }
    }

    #[test]
    fn one_step_of_drift_is_tolerated_either_way() {
        let s = rfc_secret();
        let now = 1_234_567_890;
        let previous = s.code_at(now - 30).unwrap();
        let next = s.code_at(now + 30).unwrap();
        assert_eq!(s.verify(&previous, now, None).unwrap(), now / 30 - 1);
        assert_eq!(s.verify(&next, now, None).unwrap(), now / 30 + 1);
        let too_old = s.code_at(now - 60).unwrap();
        assert_eq!(s.verify(&too_old, now, None), Err(TotpError::Invalid));
    }

    #[test]
    fn a_code_is_accepted_once() {
        let s = rfc_secret();
        let now = 1_234_567_890;
        let code = s.code_at(now).unwrap();
        let step = s.verify(&code, now, None).unwrap();
        assert_eq!(s.verify(&code, now, Some(step)), Err(TotpError::Replayed));
        // An older code than the last accepted one is a replay too.
        let previous = s.code_at(now - 30).unwrap();
        assert_eq!(
            s.verify(&previous, now, Some(step)),
            Err(TotpError::Replayed)
        );
        // The next step's code is fine.
        let next = s.code_at(now + 30).unwrap();
        assert_eq!(s.verify(&next, now + 30, Some(step)).unwrap(), step + 1);
    }

    #[test]
    fn malformed_codes_are_invalid_not_panics() {
        let s = rfc_secret();
        for bad in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "12 34 5x",
            "１２３４５６",
            "-12345",
        ] {
            assert_eq!(s.verify(bad, 59, None), Err(TotpError::Invalid), "{bad:?}");
        }
        assert_eq!(
            s.verify("287 082", 59, None).unwrap(),
            1,
            "spaces are ignored"
        );
        assert_eq!(s.verify("287082", -5, None), Err(TotpError::Invalid));
    }

    #[test]
    fn uri_and_base32_are_what_apps_expect() {
        let s = rfc_secret();
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = s.otpauth_uri("Portcullis", "ada@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Portcullis:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Portcullis"), "{uri}");
    }

    #[test]
    fn short_secrets_are_refused_and_debug_is_redacted() {
        assert_eq!(
            TotpSecret::from_bytes(vec![1; 15]).unwrap_err(),
            TotpError::BadSecret
        );
        let s = rfc_secret();
        assert!(!format!("{s:?}").contains("1234"));
    }
}
