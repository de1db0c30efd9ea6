//! One-time codes sent by e-mail or SMS: six digits, short-lived, bounded attempts.
//!
//! The code is drawn uniformly (rejection sampling, no modulo bias) and only its keyed hash
//! is stored; the store enforces single use and the attempt bound in the same statement
//! that checks a code.

use std::fmt;
use zeroize::Zeroizing;

use crate::entropy::Entropy;

/// Digits per code.
pub const DIGITS: usize = 6;

/// What a code travels over. Its name is bound into the code's keyed hash and stored with
/// the code, so it is part of the data: `email`, not the factor kind's `email_otp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A text message to a verified phone number.
    Sms,
    /// An e-mail to the account's address.
    Email,
}

impl Channel {
    /// The channel's stored name, also its metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A one-time code. Never printed by `Debug`.
pub struct OtpCode(Zeroizing<String>);

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

impl OtpCode {
    /// Draws a fresh code.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        // The largest multiple of 10^6 below 2^32: values at or above it are redrawn.
        const LIMIT: u32 = u32::MAX - (u32::MAX % 1_000_000);
        loop {
            let mut raw = [0u8; 4];
            entropy.fill(&mut raw);
            let n = u32::from_be_bytes(raw);
            if n < LIMIT {
                return Self(Zeroizing::new(format!("{:06}", n % 1_000_000)));
            }
        }
    }

    /// Accepts what a user typed (spaces and dashes ignored).
    ///
    /// # Errors
    /// `None` unless it is exactly six ASCII digits.
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| *c != ' ' && *c != '-').collect();
        (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(Zeroizing::new(digits)))
    }

    /// The digits.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entropy::{CountingEntropy, Entropy};

    #[test]
    fn codes_are_six_digits_and_round_trip() {
        let e = CountingEntropy::default();
        for _ in 0..50 {
            let c = OtpCode::generate(&e);
            assert_eq!(c.expose().len(), 6);
            assert_eq!(OtpCode::parse(c.expose()).unwrap().expose(), c.expose());
        }
        assert_eq!(OtpCode::parse("123 456").unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse("123-456").unwrap().expose(), "123456");
    }

    #[test]
    fn channel_names_are_the_stored_ones() {
        assert_eq!(Channel::Sms.as_str(), "sms");
        assert_eq!(Channel::Email.to_string(), "email");
    }

    #[test]
    fn bad_shapes_are_refused() {
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(OtpCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    /// Values at the top of the u32 range are redrawn rather than folded (no modulo bias).
    #[test]
    fn the_biased_tail_is_redrawn() {
        struct Seq(std::sync::Mutex<Vec<[u8; 4]>>);
        impl Entropy for Seq {
            fn fill(&self, buf: &mut [u8]) {
                let next = self.0.lock().unwrap().remove(0);
                buf.copy_from_slice(&next);
            }
        }
        let e = Seq(std::sync::Mutex::new(vec![
            u32::MAX.to_be_bytes(),
            42u32.to_be_bytes(),
        ]));
        assert_eq!(OtpCode::generate(&e).expose(), "000042");
        assert!(!format!("{:?}", OtpCode::parse("000042").unwrap()).contains("42"));
    }
}
