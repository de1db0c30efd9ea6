//! What a leaf holds: an entry's bytes, and the columns storage indexes it by.
//!
//! The bytes are JSON written once, when the entry is appended, and hashed as they are
//! stored: verification hashes the stored bytes and never re-encodes, so the encoding may
//! change in a later version (`v`) without breaking old leaves. The index columns (`kind`,
//! `subject`, `actor`) are copies for queries; verification checks them against the bytes.

use portcullis_core::audit::AuditEvent;
use serde::{Deserialize, Serialize};

use crate::lifecycle::TokenOp;
use crate::merkle::{Hash, leaf_hash};

/// The version of the encoding written now.
pub const BODY_VERSION: u8 = 1;

/// What an entry records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// A token lifecycle operation (the `auth` and `req` ledgers).
    Token(TokenOp),
    /// An audited event (the `audit` ledger).
    Audit(AuditEvent),
}

/// One entry of a ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The encoding's version.
    pub v: u8,
    /// The leaf's index in the tree, from 0.
    pub index: u64,
    /// When it was appended, unix seconds.
    pub at: i64,
    /// What it records.
    pub payload: Payload,
}

/// An entry as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The leaf's index.
    pub index: u64,
    /// Unix seconds.
    pub at: i64,
    /// The operation (`mint`, `transfer`, `burn`) or the audit event's name.
    pub kind: String,
    /// The token, or what an audit event is about.
    pub subject: Option<String>,
    /// The token's owner after the operation, or who acted.
    pub actor: Option<String>,
    /// The leaf's bytes.
    pub body: Vec<u8>,
    /// `leaf_hash(body)`.
    pub leaf: Hash,
}

/// Why stored bytes are not an entry.
#[derive(Debug, thiserror::Error)]
#[error("entry {index} is not a valid entry: {reason}")]
pub struct BadEntry {
    /// The leaf.
    pub index: u64,
    /// What is wrong.
    pub reason: String,
}

impl Entry {
    /// A new entry at `index`.
    pub fn new(index: u64, at: i64, payload: Payload) -> Self {
        Self {
            v: BODY_VERSION,
            index,
            at,
            payload,
        }
    }

    /// The bytes to store and hash, with the index columns.
    pub fn encode(&self) -> Encoded {
        // Serialising a struct of strings, integers and JSON values cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        let (kind, subject, actor) = self.columns();
        Encoded {
            index: self.index,
            at: self.at,
            kind,
            subject,
            actor,
            leaf: leaf_hash(&body),
            body,
        }
    }

    /// The index columns derived from the payload.
    fn columns(&self) -> (String, Option<String>, Option<String>) {
        match &self.payload {
            Payload::Token(op) => {
                let owner = match op {
                    TokenOp::Mint { owner, .. } => Some(owner.clone()),
                    TokenOp::Transfer { to, .. } => Some(to.clone()),
                    TokenOp::Burn { .. } => None,
                };
                (op.kind().to_owned(), Some(op.token().to_owned()), owner)
            }
            Payload::Audit(event) => (
                event.event.clone(),
                event.subject.clone(),
                event.actor.clone(),
            ),
        }
    }

    /// Reads a stored entry back and checks that its bytes, its position and its index
    /// columns agree.
    ///
    /// # Errors
    /// [`BadEntry`] naming what disagrees.
    pub fn decode(stored: &Encoded) -> Result<Entry, BadEntry> {
        let bad = |reason: String| BadEntry {
            index: stored.index,
            reason,
        };
        if leaf_hash(&stored.body) != stored.leaf {
            return Err(bad("its bytes do not match its leaf hash".into()));
        }
        let entry: Entry =
            serde_json::from_slice(&stored.body).map_err(|e| bad(format!("unreadable: {e}")))?;
        if entry.v != BODY_VERSION {
            return Err(bad(format!("unknown version {}", entry.v)));
        }
        if entry.index != stored.index || entry.at != stored.at {
            return Err(bad("its bytes name another position or time".into()));
        }
        let (kind, subject, actor) = entry.columns();
        if kind != stored.kind || subject != stored.subject || actor != stored.actor {
            return Err(bad("its index columns disagree with its bytes".into()));
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mint() -> Entry {
        Entry::new(
            7,
            1_800_000_000,
            Payload::Token(TokenOp::Mint {
                token: "t1".into(),
                owner: "0xabc".into(),
                attributes: serde_json::Map::new(),
            }),
        )
    }

    #[test]
    fn an_entry_round_trips_and_names_its_columns() {
        let encoded = mint().encode();
        assert_eq!(encoded.kind, "mint");
        assert_eq!(encoded.subject.as_deref(), Some("t1"));
        assert_eq!(encoded.actor.as_deref(), Some("0xabc"));
        assert_eq!(encoded.leaf, leaf_hash(&encoded.body));
        assert_eq!(
            std::str::from_utf8(&encoded.body).unwrap(),
            r#"{"v":1,"index":7,"at":1800000000,"payload":{"token":{"op":"mint","token":"t1","owner":"0xabc","attributes":{}}}}"#
        );
        assert_eq!(Entry::decode(&encoded).unwrap(), mint());
    }

    #[test]
    fn a_changed_byte_column_or_position_is_caught() {
        let good = mint().encode();
        let mut body = good.clone();
        body.body[40] ^= 1;
        assert!(Entry::decode(&body).is_err());
        let mut column = good.clone();
        column.actor = Some("0xdef".into());
        assert!(Entry::decode(&column).is_err());
        let mut moved = good.clone();
        moved.index = 8;
        assert!(Entry::decode(&moved).is_err());
        // Consistent bytes and leaf, but the bytes say another owner than the column.
        let mut rewritten = good;
        rewritten.body = String::from_utf8(rewritten.body)
            .unwrap()
            .replace("0xabc", "0xdef")
            .into_bytes();
        rewritten.leaf = leaf_hash(&rewritten.body);
        assert!(Entry::decode(&rewritten).is_err());
    }
}
