//! Contact details of an account: e-mail address, phone number, display name.
//!
//! Each is a newtype whose only constructor is `parse`, so a value of the type is known to be
//! well-formed everywhere else ("parse, don't validate"). They are personal data: `Debug` never
//! prints the value, so a stray `{:?}` in a log line or a panic message cannot leak it. They
//! serialize as plain strings for API responses, but do not implement `Deserialize`: input
//! always goes through `parse`.
//!
//! The rules are deliberately conservative rather than a full RFC 5322 grammar: an address we
//! accept must also survive an SMTP relay and a mail client, and the server only needs
//! addresses it can deliver to.

use std::fmt;

use serde::Serialize;

/// Why a contact detail was refused. The reason is safe to show to the user who typed it and
/// never repeats the value itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// The e-mail address is malformed.
    #[error("invalid e-mail address: {0}")]
    InvalidEmail(&'static str),
    /// The phone number is not a valid E.164 number.
    #[error("invalid phone number: {0}")]
    InvalidPhone(&'static str),
    /// The display name is empty, too long or contains forbidden characters.
    #[error("invalid display name: {0}")]
    InvalidDisplayName(&'static str),
}

/// Longest address SMTP can carry (RFC 5321 §4.5.3.1.3, path minus the angle brackets).
const EMAIL_MAX_BYTES: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
const LOCAL_PART_MAX_BYTES: usize = 64;
/// Longest DNS label (RFC 1035 §2.3.4).
const DOMAIN_LABEL_MAX_BYTES: usize = 63;

/// A syntactically valid e-mail address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address typed by a user. Surrounding whitespace is removed and the whole
    /// address is lower-cased, so two spellings of one mailbox compare equal.
    ///
    /// # Errors
    /// Returns [`ContactError::InvalidEmail`] when the address is empty, longer than 254 bytes,
    /// has no `@` or more than one, has an empty local part or one longer than 64 bytes, has a
    /// domain without a dot, with an empty label, a label longer than 63 bytes, a label that
    /// starts or ends with `-` or contains anything but letters, digits and `-`, or contains
    /// whitespace or control characters anywhere.
    pub fn parse(s: &str) -> Result<Self, ContactError> {
        let err = ContactError::InvalidEmail;
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(err("empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("contains whitespace or control characters"));
        }
        let address = trimmed.to_lowercase();
        if address.len() > EMAIL_MAX_BYTES {
            return Err(err("longer than 254 characters"));
        }
        let (local, domain) = address.split_once('@').ok_or(err("missing '@'"))?;
        if domain.contains('@') {
            return Err(err("more than one '@'"));
        }
        if local.is_empty() {
            return Err(err("empty local part"));
        }
        if local.len() > LOCAL_PART_MAX_BYTES {
            return Err(err("local part longer than 64 characters"));
        }
        check_domain(domain).map_err(err)?;
        Ok(Self(address))
    }

    /// The whole address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

/// Checks the part after the `@` as a DNS host name (internationalized labels allowed).
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("empty domain");
    }
    if !domain.contains('.') {
        return Err("domain has no '.'");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("domain has an empty label");
        }
        if label.len() > DOMAIN_LABEL_MAX_BYTES {
            return Err("domain label longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with '-'");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("domain contains a character other than letters, digits, '-' and '.'");
        }
    }
    Ok(())
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// Fewest digits we accept after the `+` (shortest real numbers, country code included).
const PHONE_MIN_DIGITS: usize = 8;
/// Most digits E.164 allows (ITU-T E.164 §6).
const PHONE_MAX_DIGITS: usize = 15;

/// A phone number in E.164 form: `+` followed by 8 to 15 digits, the first not `0`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses a number in international form. Spaces, `-`, `.`, `(` and `)` are accepted as
    /// separators and dropped: `+1 (555) 010-9999` becomes `+15550109999`.
    ///
    /// # Errors
    /// Returns [`ContactError::InvalidPhone`] when the number does not start with `+`, contains
    /// anything but digits and the separators above, has fewer than 8 or more than 15 digits,
    /// or its country code starts with `0`.
    pub fn parse(s: &str) -> Result<Self, ContactError> {
        let err = ContactError::InvalidPhone;
        let mut chars = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'));
        match chars.next() {
            None => return Err(err("empty")),
            Some('+') => {}
            Some(_) => return Err(err("must start with '+' and the country code")),
        }
        let mut number = String::with_capacity(PHONE_MAX_DIGITS + 1);
        number.push('+');
        for c in chars {
            if !c.is_ascii_digit() {
                return Err(err("may contain only digits after '+'"));
            }
            if number.len() > PHONE_MAX_DIGITS {
                return Err(err("more than 15 digits"));
            }
            number.push(c);
        }
        let digits = number.len() - 1;
        if digits < PHONE_MIN_DIGITS {
            return Err(err("fewer than 8 digits"));
        }
        if number.as_bytes()[1] == b'0' {
            return Err(err("country code cannot start with 0"));
        }
        Ok(Self(number))
    }

    /// The number in E.164 form, e.g. `+15550109999`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneE164(<redacted>)")
    }
}

/// Longest display name, in Unicode scalar values.
const DISPLAY_NAME_MAX_CHARS: usize = 100;

/// A name to show for an account: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a name typed by a user, removing surrounding whitespace.
    ///
    /// # Errors
    /// Returns [`ContactError::InvalidDisplayName`] when the trimmed name is empty, longer
    /// than 100 characters, or contains control characters or bidirectional-text controls
    /// (which can make a name render as something else).
    pub fn parse(s: &str) -> Result<Self, ContactError> {
        let err = ContactError::InvalidDisplayName;
        let name = s.trim();
        if name.is_empty() {
            return Err(err("empty"));
        }
        if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err(err("longer than 100 characters"));
        }
        if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err(err("contains control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(<redacted>)")
    }
}

/// Unicode bidirectional formatting characters (marks, embeddings, overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn email_reason(s: &str) -> &'static str {
        match Email::parse(s) {
            Err(ContactError::InvalidEmail(reason)) => reason,
            other => unreachable!("expected InvalidEmail for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let email = Email::parse("  Alice.Smith+tag@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "alice.smith+tag@example.com");
        assert_eq!(email.local_part(), "alice.smith+tag");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn email_accepts_common_shapes() {
        for ok in [
            "a@b.co",
            "first.last@sub.domain.example",
            "user_name-1@x-y.example.org",
            "o'brien@example.ie",
            "josé@bücher.example",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn email_equal_when_spelled_differently() {
        assert_eq!(
            Email::parse("Bob@Example.com").unwrap(),
            Email::parse(" bob@example.COM").unwrap()
        );
    }

    #[test]
    fn email_rejects_empty_and_blank() {
        assert_eq!(email_reason(""), "empty");
        assert_eq!(email_reason("   \t"), "empty");
    }

    #[test]
    fn email_rejects_missing_or_extra_at() {
        assert_eq!(email_reason("alice.example.com"), "missing '@'");
        assert_eq!(email_reason("a@b@example.com"), "more than one '@'");
    }

    #[test]
    fn email_rejects_bad_local_part() {
        assert_eq!(email_reason("@example.com"), "empty local part");
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            email_reason(&long_local),
            "local part longer than 64 characters"
        );
        let max_local = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&max_local).is_ok());
    }

    #[test]
    fn email_rejects_bad_domain() {
        assert_eq!(email_reason("a@"), "empty domain");
        assert_eq!(email_reason("a@localhost"), "domain has no '.'");
        assert_eq!(email_reason("a@example..com"), "domain has an empty label");
        assert_eq!(email_reason("a@.example.com"), "domain has an empty label");
        assert_eq!(email_reason("a@example.com."), "domain has an empty label");
        assert_eq!(
            email_reason("a@-example.com"),
            "domain label starts or ends with '-'"
        );
        assert_eq!(
            email_reason("a@example-.com"),
            "domain label starts or ends with '-'"
        );
        assert!(email_reason("a@exa_mple.com").contains("character other than"));
        assert!(email_reason("a@[192.168.0.1]").contains("character other than"));
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert_eq!(
            email_reason(&long_label),
            "domain label longer than 63 characters"
        );
    }

    #[test]
    fn email_rejects_whitespace_and_controls_inside() {
        let reason = "contains whitespace or control characters";
        assert_eq!(email_reason("al ice@example.com"), reason);
        assert_eq!(email_reason("alice@exa\tmple.com"), reason);
        assert_eq!(email_reason("alice@example.com\r\nBcc: x@y.z"), reason);
        assert_eq!(email_reason("al\u{0}ice@example.com"), reason);
        assert_eq!(email_reason("alice\u{00A0}@example.com"), reason);
    }

    #[test]
    fn email_length_limit_is_254() {
        // 64 + 1 + 189 = 254
        let domain = format!(
            "{}.{}.{}.com",
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(57)
        );
        let at_limit = format!("{}@{domain}", "a".repeat(64));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("{}@{domain}", "a".repeat(64)).replacen(".com", ".comx", 1);
        assert_eq!(over.len(), 255);
        assert_eq!(email_reason(&over), "longer than 254 characters");
    }

    #[test]
    fn email_error_message_is_clear() {
        let err = Email::parse("nobody").unwrap_err();
        assert_eq!(err.to_string(), "invalid e-mail address: missing '@'");
    }

    #[test]
    fn phone_strips_separators() {
        let phone = PhoneE164::parse("+1 (555) 010-9999").unwrap();
        assert_eq!(phone.as_str(), "+15550109999");
        let phone = PhoneE164::parse(" +44.20.7946.0958 ").unwrap();
        assert_eq!(phone.as_str(), "+442079460958");
    }

    #[test]
    fn phone_length_bounds() {
        assert!(PhoneE164::parse("+12345678").is_ok());
        assert!(PhoneE164::parse("+123456789012345").is_ok());
        assert_eq!(
            PhoneE164::parse("+1234567").unwrap_err(),
            ContactError::InvalidPhone("fewer than 8 digits")
        );
        assert_eq!(
            PhoneE164::parse("+1234567890123456").unwrap_err(),
            ContactError::InvalidPhone("more than 15 digits")
        );
    }

    #[test]
    fn phone_rejects_bad_input() {
        for bad in [
            "",
            "   ",
            "+",
            "15550109999",
            "00 44 20 7946 0958",
            "+0 555 010 9999",
            "+1 555 CALL NOW",
            "+1 555 010 9999 ext 2",
            "+1+5550109999",
            "+1\t5550109999",
            "+١٢٣٤٥٦٧٨٩", // Arabic-Indic digits
        ] {
            assert!(
                matches!(PhoneE164::parse(bad), Err(ContactError::InvalidPhone(_))),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            PhoneE164::parse("5550109999").unwrap_err().to_string(),
            "invalid phone number: must start with '+' and the country code"
        );
    }

    #[test]
    fn display_name_rules() {
        assert_eq!(
            DisplayName::parse("  Zoë Ångström ").unwrap().as_str(),
            "Zoë Ångström"
        );
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(101)).unwrap_err(),
            ContactError::InvalidDisplayName("longer than 100 characters")
        );
        assert_eq!(
            DisplayName::parse(" \n ").unwrap_err(),
            ContactError::InvalidDisplayName("empty")
        );
        for bad in ["a\u{0}b", "line\nbreak", "bell\u{7}", "evil\u{202E}gnp.exe"] {
            assert_eq!(
                DisplayName::parse(bad).unwrap_err().to_string(),
                "invalid display name: contains control characters"
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let email = Email::parse("secret.person@example.com").unwrap();
        let phone = PhoneE164::parse("+15550109999").unwrap();
        let name = DisplayName::parse("Secret Person").unwrap();
        assert_eq!(format!("{email:?}"), "Email(<redacted>)");
        assert_eq!(format!("{phone:?}"), "PhoneE164(<redacted>)");
        assert_eq!(format!("{name:?}"), "DisplayName(<redacted>)");
        let all = format!("{:#?}", (email, phone, name));
        assert!(!all.contains("secret") && !all.contains("5550109999") && !all.contains("Secret"));
    }

    #[test]
    fn serializes_as_plain_strings() {
        let email = Email::parse("A@Example.com").unwrap();
        let phone = PhoneE164::parse("+1 555 010 9999").unwrap();
        let name = DisplayName::parse("Ann").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), r#""a@example.com""#);
        assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+15550109999""#);
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""Ann""#);
    }
}
