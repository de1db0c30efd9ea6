//! URLs that must stay exactly as the operator wrote them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// A URL checked when loaded and kept as written.
///
/// `public_url` becomes the `iss` of every token and the base of every link, and relying
/// parties compare the issuer byte for byte, so it is not normalised: a parsed [`Url`] would
/// lower-case the host, drop a default port and punycode the domain, changing the issuer of
/// an existing installation.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VerbatimUrl(String);

impl VerbatimUrl {
    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its scheme (`https`), as the parser reads it.
    pub fn scheme(&self) -> String {
        Url::parse(&self.0)
            .map(|u| u.scheme().to_owned())
            .unwrap_or_default()
    }
}

impl FromStr for VerbatimUrl {
    type Err = url::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Url::parse(s).map(|_| VerbatimUrl(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for VerbatimUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for VerbatimUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_exactly_as_written_once_it_parses() {
        let written = "https://Auth.Example.com:443/";
        let url: VerbatimUrl = written
            .parse()
            .unwrap_or_else(|_| VerbatimUrl(String::new()));
        assert_eq!(url.as_str(), written);
        assert_eq!(url.scheme(), "https");
        assert!("not a url".parse::<VerbatimUrl>().is_err());
    }
}
