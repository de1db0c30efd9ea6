//! [`FactorKind`]: the one name of each kind of factor.
//!
//! The same spelling (`as_str`) is the wire and JSON name, the value stored in the
//! `factors.kind` column, the form value of the pages and the metric label, so it is written
//! down once, here; `FromStr` and serde go through it. A new factor is a new variant, its
//! name, its `amr` values and its place in [`FactorKind::ALL`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::factor::otp::Channel;

/// A factor a login can be answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactorKind {
    /// Something the user knows: the account password.
    Password,
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// One of the account's single-use recovery codes.
    RecoveryCode,
    /// A code sent by SMS to a verified phone number.
    Sms,
    /// A code sent by e-mail.
    EmailOtp,
    /// A WebAuthn credential (passkey or security key), with user verification.
    Passkey,
    /// A pattern of dots sent by e-mail or SMS, drawn back on a pattern pad.
    PatternOtp,
    /// An image file the user keeps, uploaded again at each use: possession of a key file.
    Image,
    /// A sequence of pointer events on a 3×3 pad: something the user knows.
    Gesture,
    /// A hardware (or any Ethereum) wallet: a Sign-In with Ethereum message signed by the
    /// key of an enrolled address that owns the account's live AuthNFT.
    Wallet,
}

/// A name that is no [`FactorKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown factor kind {0:?}")]
pub struct UnknownFactorKind(pub String);

impl FactorKind {
    /// Every kind, in declaration order.
    pub const ALL: [FactorKind; 10] = [
        FactorKind::Password,
        FactorKind::Totp,
        FactorKind::RecoveryCode,
        FactorKind::Sms,
        FactorKind::EmailOtp,
        FactorKind::Passkey,
        FactorKind::PatternOtp,
        FactorKind::Image,
        FactorKind::Gesture,
        FactorKind::Wallet,
    ];

    /// Every name, in the order of [`FactorKind::ALL`] (what a parse error lists).
    pub const NAMES: [&'static str; 10] = [
        FactorKind::Password.as_str(),
        FactorKind::Totp.as_str(),
        FactorKind::RecoveryCode.as_str(),
        FactorKind::Sms.as_str(),
        FactorKind::EmailOtp.as_str(),
        FactorKind::Passkey.as_str(),
        FactorKind::PatternOtp.as_str(),
        FactorKind::Image.as_str(),
        FactorKind::Gesture.as_str(),
        FactorKind::Wallet.as_str(),
    ];

    /// The kind's name: on the wire, in JSON, in the database, in forms and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            FactorKind::Password => "password",
            FactorKind::Totp => "totp",
            FactorKind::RecoveryCode => "recovery_code",
            FactorKind::Sms => "sms",
            FactorKind::EmailOtp => "email_otp",
            FactorKind::Passkey => "passkey",
            FactorKind::PatternOtp => "pattern_otp",
            FactorKind::Image => "image",
            FactorKind::Gesture => "gesture",
            FactorKind::Wallet => "wallet",
        }
    }

    /// The RFC 8176 authentication method reference for this factor.
    pub fn amr(self) -> &'static str {
        match self {
            FactorKind::Password => "pwd",
            FactorKind::Totp | FactorKind::RecoveryCode | FactorKind::EmailOtp => "otp",
            FactorKind::Sms => "sms",
            FactorKind::Passkey => "hwk",
            FactorKind::PatternOtp => "otp",
            FactorKind::Image => "swk",
            FactorKind::Gesture => "kba",
            FactorKind::Wallet => "hwk",
        }
    }

    /// Every `amr` value a use of this factor earns. A passkey verifies the user on the
    /// device (PIN or biometric), so it is a multi-factor authenticator by itself: `hwk`
    /// and `mfa`. A pattern OTP is a one-time secret whatever carries it: `otp` only, since
    /// a second value from the same factor would count as a second method. A wallet is a
    /// key in hardware (`hwk`); its PIN is the device's business, unseen by the server, so
    /// it does not earn `mfa` by itself. An image
    /// passcode is a key file the user holds (`swk`, possession); a gesture is a memorised
    /// secret beside the password (`kba`, knowledge), which
    /// [`Assurance::for_methods`](crate::login::Assurance::for_methods) counts with `pwd` as
    /// one kind of factor.
    pub fn amr_values(self) -> &'static [&'static str] {
        match self {
            FactorKind::Password => &["pwd"],
            FactorKind::Totp | FactorKind::RecoveryCode | FactorKind::EmailOtp => &["otp"],
            FactorKind::Sms => &["sms"],
            FactorKind::Passkey => &["hwk", "mfa"],
            FactorKind::PatternOtp => &["otp"],
            FactorKind::Image => &["swk"],
            FactorKind::Gesture => &["kba"],
            FactorKind::Wallet => &["hwk"],
        }
    }

    /// The channel a code of this factor is sent over on request, for the factors whose
    /// code always takes the same channel (SMS, e-mail); `None` for the others. A pattern
    /// OTP's channel is its enrolment's choice (see [`FactorKind::is_sent`]).
    pub fn channel(self) -> Option<Channel> {
        match self {
            FactorKind::Sms => Some(Channel::Sms),
            FactorKind::EmailOtp => Some(Channel::Email),
            FactorKind::Password
            | FactorKind::Totp
            | FactorKind::RecoveryCode
            | FactorKind::Passkey
            | FactorKind::PatternOtp
            | FactorKind::Image
            | FactorKind::Gesture
            | FactorKind::Wallet => None,
        }
    }

    /// Whether the server sends this factor's one-time secret on request (a challenge's
    /// "send"): SMS and e-mail codes, and pattern OTPs.
    pub fn is_sent(self) -> bool {
        match self {
            FactorKind::Sms | FactorKind::EmailOtp | FactorKind::PatternOtp => true,
            FactorKind::Password
            | FactorKind::Totp
            | FactorKind::RecoveryCode
            | FactorKind::Passkey
            | FactorKind::Image
            | FactorKind::Gesture
            | FactorKind::Wallet => false,
        }
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FactorKind {
    type Err = UnknownFactorKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FactorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownFactorKind(s.to_owned()))
    }
}

impl Serialize for FactorKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FactorKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = FactorKind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a factor kind")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FactorKind, E> {
                v.parse()
                    .map_err(|_| E::unknown_variant(v, &FactorKind::NAMES))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_snake_case_wire_names_and_parse_back() {
        let expected = [
            (FactorKind::Password, "password"),
            (FactorKind::Totp, "totp"),
            (FactorKind::RecoveryCode, "recovery_code"),
            (FactorKind::Sms, "sms"),
            (FactorKind::EmailOtp, "email_otp"),
            (FactorKind::Passkey, "passkey"),
            (FactorKind::PatternOtp, "pattern_otp"),
            (FactorKind::Image, "image"),
            (FactorKind::Gesture, "gesture"),
            (FactorKind::Wallet, "wallet"),
        ];
        assert_eq!(expected.len(), FactorKind::ALL.len());
        for (kind, name) in expected {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<FactorKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<FactorKind>(&format!("\"{name}\"")).unwrap(),
                kind
            );
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!(
            "email".parse::<FactorKind>(),
            Err(UnknownFactorKind("email".into()))
        );
        assert!("Totp".parse::<FactorKind>().is_err());
        let err = serde_json::from_str::<FactorKind>("\"pin\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant `pin`"), "{err}");
        assert!(serde_json::from_str::<FactorKind>("3").is_err());
    }

    #[test]
    fn amr_values_per_kind() {
        let table: [(FactorKind, &str, &[&str]); 9] = [
            (FactorKind::Password, "pwd", &["pwd"]),
            (FactorKind::Totp, "otp", &["otp"]),
            (FactorKind::RecoveryCode, "otp", &["otp"]),
            (FactorKind::Sms, "sms", &["sms"]),
            (FactorKind::EmailOtp, "otp", &["otp"]),
            (FactorKind::Passkey, "hwk", &["hwk", "mfa"]),
            (FactorKind::PatternOtp, "otp", &["otp"]),
            (FactorKind::Image, "swk", &["swk"]),
            (FactorKind::Gesture, "kba", &["kba"]),
        ];
        for (kind, amr, values) in table {
            assert_eq!(kind.amr(), amr, "{kind}");
            assert_eq!(kind.amr_values(), values, "{kind}");
        }
    }

    #[test]
    fn only_sent_codes_have_a_channel() {
        for kind in FactorKind::ALL {
            let expected = match kind {
                FactorKind::Sms => Some(Channel::Sms),
                FactorKind::EmailOtp => Some(Channel::Email),
                _ => None,
            };
            assert_eq!(kind.channel(), expected, "{kind}");
            assert_eq!(
                kind.is_sent(),
                expected.is_some() || kind == FactorKind::PatternOtp,
                "{kind}"
            );
        }
    }
}
