//! Assurance levels: what the `acr` claim of a session says about how it authenticated.

use serde::{Deserialize, Serialize};

/// The `amr` values (RFC 8176) of knowledge factors: proving two of them is still proving
/// one kind of factor.
pub const KNOWLEDGE: [&str; 3] = ["pwd", "kba", "pin"];

/// Authentication assurance, published as the `acr` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Assurance {
    /// One factor.
    #[serde(rename = "aal1")]
    Aal1,
    /// Two or more distinct factors.
    #[serde(rename = "aal2")]
    Aal2,
}

impl Assurance {
    /// The `acr` claim value.
    pub fn acr(self) -> &'static str {
        match self {
            Assurance::Aal1 => "aal1",
            Assurance::Aal2 => "aal2",
        }
    }

    /// Parses an `acr` value.
    pub fn from_acr(s: &str) -> Option<Self> {
        match s {
            "aal1" => Some(Assurance::Aal1),
            "aal2" => Some(Assurance::Aal2),
            _ => None,
        }
    }

    /// Assurance of a set of `amr` values: two distinct methods make AAL2, where every
    /// knowledge method ([`KNOWLEDGE`]: a password, a gesture) counts as the same one. Two
    /// things a person knows are one factor (NIST SP 800-63B §4.2.1 asks for two *kinds* of
    /// factor), so a password and a gesture stay AAL1, while a password and an image
    /// passcode (`swk`, a file the user holds) reach AAL2.
    pub fn for_methods<'a>(amr: impl IntoIterator<Item = &'a str>) -> Self {
        let mut distinct: Vec<&str> = amr
            .into_iter()
            .map(|m| if KNOWLEDGE.contains(&m) { "pwd" } else { m })
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() >= 2 {
            Assurance::Aal2
        } else {
            Assurance::Aal1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assurance_counts_distinct_methods() {
        assert_eq!(Assurance::for_methods(["pwd"]), Assurance::Aal1);
        assert_eq!(Assurance::for_methods(["otp", "otp"]), Assurance::Aal1);
        assert_eq!(Assurance::for_methods(["pwd", "otp"]), Assurance::Aal2);
    }

    #[test]
    fn knowledge_methods_count_as_one_factor() {
        assert_eq!(Assurance::for_methods(["pwd", "kba"]), Assurance::Aal1);
        assert_eq!(
            Assurance::for_methods(["kba", "pin", "pwd"]),
            Assurance::Aal1
        );
        assert_eq!(Assurance::for_methods(["pwd", "swk"]), Assurance::Aal2);
        assert_eq!(Assurance::for_methods(["kba", "swk"]), Assurance::Aal2);
        assert_eq!(
            Assurance::for_methods(["pwd", "kba", "otp"]),
            Assurance::Aal2
        );
    }

    #[test]
    fn acr_values_parse_back() {
        for a in [Assurance::Aal1, Assurance::Aal2] {
            assert_eq!(Assurance::from_acr(a.acr()), Some(a));
        }
        assert!(Assurance::Aal2 > Assurance::Aal1);
    }
}
