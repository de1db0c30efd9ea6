//! The three ledgers a node keeps, by name.

use std::fmt;
use std::str::FromStr;

/// One of the ledgers. Each has its own storage (its own SQLite file, or its own PostgreSQL
/// schema and role) and its own signing key, so nothing that writes one can write another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerName {
    /// AuthNFT lifecycle: the single-use login tokens of the wallet flow.
    Auth,
    /// ReqNFT lifecycle: the tokens a wallet session's requests are checked against.
    Req,
    /// The audit log: every audited event is a leaf.
    Audit,
}

impl LedgerName {
    /// Every ledger, in the order they are listed and verified.
    pub const ALL: [LedgerName; 3] = [LedgerName::Auth, LedgerName::Req, LedgerName::Audit];

    /// The name in URLs, file names and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerName::Auth => "auth",
            LedgerName::Req => "req",
            LedgerName::Audit => "audit",
        }
    }

    /// Whether the ledger's entries are token lifecycle operations (the audit ledger's are
    /// events).
    pub fn holds_tokens(self) -> bool {
        !matches!(self, LedgerName::Audit)
    }
}

impl fmt::Display for LedgerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the ledgers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no ledger is named {0:?} (auth, req or audit)")]
pub struct UnknownLedger(pub String);

impl FromStr for LedgerName {
    type Err = UnknownLedger;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LedgerName::ALL
            .into_iter()
            .find(|name| name.as_str() == s)
            .ok_or_else(|| UnknownLedger(s.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for name in LedgerName::ALL {
            assert_eq!(name.as_str().parse::<LedgerName>().unwrap(), name);
        }
        assert!("AUTH".parse::<LedgerName>().is_err());
        assert!("".parse::<LedgerName>().is_err());
        assert!(!LedgerName::Audit.holds_tokens() && LedgerName::Req.holds_tokens());
    }
}
