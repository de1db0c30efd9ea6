//! Assurance levels: what the `acr` claim of a session says about how it authenticated.

use serde::{Deserialize, Serialize};

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

    /// Assurance of a set of `amr` values: two distinct methods make AAL2.
    pub fn for_methods<'a>(amr: impl IntoIterator<Item = &'a str>) -> Self {
        let mut distinct: Vec<&str> = amr.into_iter().collect();
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
    fn acr_values_parse_back() {
        for a in [Assurance::Aal1, Assurance::Aal2] {
            assert_eq!(Assurance::from_acr(a.acr()), Some(a));
        }
        assert!(Assurance::Aal2 > Assurance::Aal1);
    }
}
