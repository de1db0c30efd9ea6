//! The web origins a key may be used from, and the rule that checks a request's `Origin`.
//!
//! An origin is `scheme://host[:port]` (RFC 6454) as a browser serialises it in the `Origin`
//! header: lower case, no path, no default port. Administrators' origins are normalised to
//! that form when a key is made, so the check is an exact comparison and never a pattern:
//! `https://app.example` does not admit `https://app.example.evil.test`.
//!
//! The header only binds browsers (they set it and scripts cannot change it), which is the
//! point: a key copied out of one site's JavaScript cannot be used from another site in a
//! user's browser. A caller outside a browser sends no `Origin` and is let through; it could
//! send any value anyway.

use std::fmt;

/// Longest origin accepted (a host name is at most 253 characters).
const MAX_LEN: usize = 300;

/// A normalised origin, `scheme://host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(String);

/// Why a text is not an origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Neither `http://` nor `https://`.
    #[error("an origin starts with http:// or https://")]
    Scheme,
    /// A path, query, fragment, user name or wildcard after the host.
    #[error("an origin is scheme://host[:port], without a path, credentials or wildcards")]
    Extra,
    /// An empty or malformed host.
    #[error("the origin's host is not a host name or IP address")]
    Host,
    /// A port that is not 1 to 65535.
    #[error("the origin's port is not a number from 1 to 65535")]
    Port,
    /// Longer than any origin.
    #[error("the origin is too long")]
    TooLong,
}

impl Origin {
    /// Parses and normalises an origin: lower case, the default port (80 for `http`, 443
    /// for `https`) dropped, as browsers send it.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        if text.len() > MAX_LEN {
            return Err(OriginError::TooLong);
        }
        let lower = text.to_ascii_lowercase();
        let (scheme, rest) = lower.split_once("://").ok_or(OriginError::Scheme)?;
        let default_port = match scheme {
            "http" => "80",
            "https" => "443",
            _ => return Err(OriginError::Scheme),
        };
        if rest.contains(['/', '?', '#', '@', '*', '\\']) {
            return Err(OriginError::Extra);
        }
        let (host, port) = split_port(rest)?;
        check_host(host)?;
        match port {
            Some(p) if p != default_port => Ok(Self(format!("{scheme}://{host}:{p}"))),
            _ => Ok(Self(format!("{scheme}://{host}"))),
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `host` and the port after it, if any; a bracketed IPv6 address keeps its brackets.
fn split_port(rest: &str) -> Result<(&str, Option<&str>), OriginError> {
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']').ok_or(OriginError::Host)?;
        let (host, after) = rest.split_at(end + 1);
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(OriginError::Host)?),
            ),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.len() <= 5
            && !p.starts_with('0')
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n));
        if !ok {
            return Err(OriginError::Port);
        }
    }
    Ok((host, port))
}

/// A DNS name or IPv4 address (letters, digits, `-`, `.` in non-empty labels) or a bracketed
/// IPv6 address.
fn check_host(host: &str) -> Result<(), OriginError> {
    let ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    if ok { Ok(()) } else { Err(OriginError::Host) }
}

/// Whether a request with this `Origin` header (`None`: the header is absent) may use a key
/// allowed `allowed` (empty: any origin). A present header must name one of them exactly;
/// one that is no origin (`null`, from a sandboxed frame or a file) names none.
pub fn origin_allowed(allowed: &[Origin], presented: Option<&str>) -> bool {
    match presented {
        None => true,
        Some(_) if allowed.is_empty() => true,
        Some(text) => Origin::parse(text).is_ok_and(|o| allowed.contains(&o)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn origin(s: &str) -> String {
        Origin::parse(s).unwrap().as_str().to_owned()
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        assert_eq!(origin("https://app.example.com"), "https://app.example.com");
        assert_eq!(origin("HTTPS://App.Example.COM"), "https://app.example.com");
        assert_eq!(
            origin("https://app.example.com:443"),
            "https://app.example.com"
        );
        assert_eq!(origin("http://localhost:80"), "http://localhost");
        assert_eq!(origin("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(origin("https://app.test:80"), "https://app.test:80");
        assert_eq!(origin("http://127.0.0.1:5173"), "http://127.0.0.1:5173");
        assert_eq!(origin("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(origin("http://[::1]"), "http://[::1]");
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        use OriginError::*;
        for (text, why) in [
            ("app.example.com", Scheme),
            ("ftp://app.example.com", Scheme),
            ("null", Scheme),
            ("https://app.example.com/", Extra),
            ("https://app.example.com/path", Extra),
            ("https://*.example.com", Extra),
            ("https://user@app.example.com", Extra),
            ("https://app.example.com?x", Extra),
            ("https://", Host),
            ("https://app..example", Host),
            ("https://-app.example", Host),
            ("https://app_1.example", Host),
            ("https://[::1", Host),
            ("https://[nothing]", Host),
            ("https://app.example:", Port),
            ("https://app.example:0", Port),
            ("https://app.example:65536", Port),
            ("https://app.example:080", Port),
            ("https://app.example:8x", Port),
        ] {
            assert_eq!(Origin::parse(text), Err(why), "{text}");
        }
        assert_eq!(
            Origin::parse(&format!("https://{}", "a".repeat(400))),
            Err(TooLong)
        );
    }

    #[test]
    fn a_present_origin_must_be_listed_exactly() {
        let allowed = vec![
            Origin::parse("https://app.example.com").unwrap(),
            Origin::parse("http://localhost:3000").unwrap(),
        ];
        let table = [
            (None, true),
            (Some("https://app.example.com"), true),
            (Some("http://localhost:3000"), true),
            (Some("https://app.example.com:443"), true),
            (Some("http://app.example.com"), false),
            (Some("https://app.example.com.evil.test"), false),
            (Some("https://evil.app.example.com"), false),
            (Some("http://localhost:3001"), false),
            (Some("null"), false),
            (Some(""), false),
        ];
        for (presented, expected) in table {
            assert_eq!(
                origin_allowed(&allowed, presented),
                expected,
                "{presented:?}"
            );
        }
        // No origins listed: any caller.
        assert!(origin_allowed(&[], Some("https://anywhere.test")));
        assert!(origin_allowed(&[], Some("null")));
        assert!(origin_allowed(&[], None));
    }
}
