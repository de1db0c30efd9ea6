//! Secrets in the configuration: passwords, tokens and URLs that may carry a password.
//!
//! Both types wrap [`SecretString`], so their `Debug` never shows the secret, and their
//! `Serialize` writes a redacted form: serializing a [`Config`](super::Config) (as
//! `portcullis config` does) cannot leak one by accident. `Deserialize` reads the plain
//! value, so files and `PORTCULLIS_*` variables are written as before. Equality compares in
//! constant time (it only serves tests and the round trip of a printed configuration).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use subtle::ConstantTimeEq as _;
use url::{Position, Url};

/// What stands in for a secret in printed configuration.
pub const REDACTED: &str = "<redacted>";

/// A secret string: SMTP password, SMS provider token, webhook secret.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// The wrapped secret, for code that keeps it (an SMS sender).
    pub fn into_inner(self) -> SecretString {
        self.0
    }
}

impl ExposeSecret<str> for Secret {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(SecretString::from(s))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(SecretString::from(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        equal(self.expose_secret(), other.expose_secret())
    }
}

impl Eq for Secret {}

impl Serialize for Secret {
    /// `<redacted>`; an empty secret reveals nothing and prints as `""`, so it loads back as
    /// itself.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.expose_secret().is_empty() {
            s.serialize_str("")
        } else {
            s.serialize_str(REDACTED)
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

/// A connection URL that may carry a password: `postgres://app:pw@db/portcullis`,
/// `redis://:pw@cache:6379/`.
///
/// Kept verbatim, because the database and Redis clients parse it themselves and a SQLite
/// path need not be a valid URL; shown by [`Self::redacted`], which keeps scheme, user, host
/// and database and masks the password (also a `password=` query parameter).
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// The URL with its password masked, for logs and `portcullis config`. A value that does
    /// not parse as a URL is shown whole unless it might hold a password.
    pub fn redacted(&self) -> String {
        let raw = self.expose_secret();
        match Url::parse(raw) {
            Ok(url) => masked(&url).unwrap_or_else(|| raw.to_owned()),
            Err(_) if raw.contains('@') || raw.to_ascii_lowercase().contains("password") => {
                REDACTED.to_owned()
            }
            Err(_) => raw.to_owned(),
        }
    }
}

/// `url` with its password and `*password*` query values replaced, or `None` when it has
/// neither (the caller then shows the original text unchanged).
fn masked(url: &Url) -> Option<String> {
    // The key as the client will read it: `pass%77ord` is a password too.
    let secret_param = |pair: &str| {
        url::form_urlencoded::parse(pair.as_bytes())
            .next()
            .is_some_and(|(k, _)| k.to_ascii_lowercase().contains("password"))
    };
    let query = url.query().unwrap_or_default();
    if url.password().is_none() && !query.split('&').any(secret_param) {
        return None;
    }
    let mut out = match url.password() {
        Some(_) => format!(
            "{}{REDACTED}{}",
            &url[..Position::BeforePassword],
            &url[Position::AfterPassword..Position::AfterPath]
        ),
        None => url[..Position::AfterPath].to_owned(),
    };
    if let Some(query) = url.query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if secret_param(pair) => format!("{k}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out.push_str(&url[Position::AfterQuery..]);
    Some(out)
}

impl ExposeSecret<str> for SecretUrl {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for SecretUrl {
    fn from(s: String) -> Self {
        Self(SecretString::from(s))
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> Self {
        Self(SecretString::from(s))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for SecretUrl {
    /// The redacted form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl PartialEq for SecretUrl {
    fn eq(&self, other: &Self) -> bool {
        equal(self.expose_secret(), other.expose_secret())
    }
}

impl Eq for SecretUrl {}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(url: &str) -> String {
        SecretUrl::from(url).redacted()
    }

    #[test]
    fn a_url_keeps_scheme_user_host_and_database_but_not_its_password() {
        assert_eq!(
            shown("postgres://app:s3cret@db.example:5432/portcullis?sslmode=require"),
            "postgres://app:<redacted>@db.example:5432/portcullis?sslmode=require"
        );
        assert_eq!(
            shown("redis://:sesame@cache:6379/0"),
            "redis://:<redacted>@cache:6379/0"
        );
        assert_eq!(
            shown("postgres://db/portcullis?user=app&password=s3cret"),
            "postgres://db/portcullis?user=app&password=<redacted>"
        );
        assert_eq!(
            shown("postgres://db/portcullis?pass%77ord=s3cret"),
            "postgres://db/portcullis?pass%77ord=<redacted>"
        );
    }

    #[test]
    fn a_url_without_a_password_is_shown_as_written() {
        for url in [
            "sqlite://./data/portcullis.db",
            "sqlite::memory:",
            "sqlite://a dir/with spaces.db",
            "postgres://app@DB.example/portcullis",
            "redis://127.0.0.1:6379/",
        ] {
            assert_eq!(shown(url), url);
        }
        assert_eq!(shown("postgres://app:pw@bad host/db"), REDACTED);
    }

    #[test]
    fn debug_and_serialize_never_show_the_secret() {
        let url = SecretUrl::from("postgres://app:s3cret@db/portcullis");
        let secret = Secret::from("hunter2");
        let debug = format!("{url:?} {secret:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("hunter2"),
            "{debug}"
        );
        let json = serde_json::to_string(&(&url, &secret)).unwrap_or_default();
        assert_eq!(
            json,
            r#"["postgres://app:<redacted>@db/portcullis","<redacted>"]"#
        );
        assert_eq!(
            serde_json::to_string(&Secret::from("")).ok(),
            Some(r#""""#.into())
        );
    }
}
