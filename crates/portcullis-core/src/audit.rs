//! The audit log's hash chain: each entry commits to the one before it.
//!
//! Editing, deleting or reordering any stored entry changes a hash that a later entry (or the
//! chain head) committed to, so [`verify_chain`] names the first entry that no longer fits.
//! Entries hold ids and event names, never secrets or personal data.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The content of one audit entry, before it is chained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Stable event name, e.g. `login.succeeded`.
    pub event: String,
    /// The account that acted, when known.
    pub actor: Option<String>,
    /// What the event is about (an account, a session, a key id), when not the actor itself.
    pub subject: Option<String>,
    /// Client address, when the event came from a request.
    pub ip: Option<String>,
    /// Further non-secret facts as a JSON object.
    pub detail: serde_json::Value,
}

/// A stored, chained audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub event: AuditEvent,
    /// Hash of the entry before (or [`GENESIS`]).
    pub prev_hash: [u8; 32],
    /// Hash of this entry, see [`entry_hash`].
    pub hash: [u8; 32],
}

/// Hash of an entry: SHA-256 over a domain tag and length-prefixed fields, so no two different
/// entries can encode to the same bytes.
pub fn entry_hash(prev_hash: &[u8; 32], seq: i64, at: i64, event: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"portcullis/audit/v1\0");
    h.update(prev_hash);
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    let detail = event.detail.to_string();
    let fields = [
        Some(event.event.as_str()),
        event.actor.as_deref(),
        event.subject.as_deref(),
        event.ip.as_deref(),
        Some(detail.as_str()),
    ];
    for field in fields {
        match field {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    h.finalize().into()
}

/// Builds the record that follows `prev` (or starts the chain when `prev` is `None`).
pub fn chain(prev: Option<(i64, [u8; 32])>, at: i64, event: AuditEvent) -> AuditRecord {
    let (seq, prev_hash) = match prev {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS),
    };
    let hash = entry_hash(&prev_hash, seq, at, &event);
    AuditRecord {
        seq,
        at,
        event,
        prev_hash,
        hash,
    }
}

/// Why a chain failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The entry's content no longer matches its hash: it was edited.
    #[error("entry {seq} was modified: its content does not match its hash")]
    Edited {
        /// The entry.
        seq: i64,
    },
    /// An entry is missing before `seq` (deleted), or sequence numbers were rewritten.
    #[error("entry {expected} is missing (found {found} in its place): entries were deleted")]
    Missing {
        /// The sequence number that should have come next.
        expected: i64,
        /// The sequence number found instead.
        found: i64,
    },
    /// The entry does not link to the hash of the entry before it.
    #[error("entry {seq} does not link to the entry before it: the chain was rewritten")]
    Unlinked {
        /// The entry.
        seq: i64,
    },
    /// The last entry does not match the recorded chain head: entries were cut off the end.
    #[error(
        "the chain ends at entry {last} but its head records entry {head}: entries were deleted at the end"
    )]
    Truncated {
        /// Last entry present.
        last: i64,
        /// Entry the head records.
        head: i64,
    },
}

/// Checks a whole chain in order, then that it ends where the recorded head says.
///
/// # Errors
/// The first [`ChainBreak`] found.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    head: Option<(i64, [u8; 32])>,
) -> Result<i64, ChainBreak> {
    let mut expected_seq = 1;
    let mut prev = GENESIS;
    for r in records {
        if r.seq != expected_seq {
            return Err(ChainBreak::Missing {
                expected: expected_seq,
                found: r.seq,
            });
        }
        if r.prev_hash != prev {
            return Err(ChainBreak::Unlinked { seq: r.seq });
        }
        if entry_hash(&r.prev_hash, r.seq, r.at, &r.event) != r.hash {
            return Err(ChainBreak::Edited { seq: r.seq });
        }
        prev = r.hash;
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if let Some((head_seq, head_hash)) = head {
        if head_seq != last {
            return Err(ChainBreak::Truncated {
                last,
                head: head_seq,
            });
        }
        if head_hash != prev {
            return Err(ChainBreak::Unlinked { seq: last });
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str) -> AuditEvent {
        AuditEvent {
            event: name.into(),
            actor: Some("a".into()),
            subject: None,
            ip: Some("127.0.0.1".into()),
            detail: serde_json::json!({"n": name}),
        }
    }

    fn build(n: usize) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|r| (r.seq, r.hash));
            out.push(chain(prev, 100 + i as i64, ev(&format!("e{i}"))));
        }
        out
    }

    fn head(v: &[AuditRecord]) -> Option<(i64, [u8; 32])> {
        v.last().map(|r| (r.seq, r.hash))
    }

    #[test]
    fn intact_chain_verifies() {
        let v = build(5);
        assert_eq!(verify_chain(&v, head(&v)), Ok(5));
        assert_eq!(verify_chain(&[], None), Ok(0));
    }

    #[test]
    fn edit_is_named() {
        let mut v = build(5);
        let h = head(&v);
        v[2].event.detail = serde_json::json!({"n": "forged"});
        assert_eq!(verify_chain(&v, h), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn deletion_in_the_middle_is_named() {
        let mut v = build(5);
        let h = head(&v);
        v.remove(1);
        assert_eq!(
            verify_chain(&v, h),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn deletion_at_the_end_is_caught_by_the_head() {
        let mut v = build(5);
        let h = head(&v);
        v.pop();
        assert_eq!(
            verify_chain(&v, h),
            Err(ChainBreak::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn rehashed_forgery_breaks_the_link() {
        let mut v = build(4);
        let h = head(&v);
        // An attacker edits entry 2 and recomputes its own hash: entry 3 no longer links.
        v[1].event.event = "forged".into();
        v[1].hash = entry_hash(&v[1].prev_hash, v[1].seq, v[1].at, &v[1].event);
        assert_eq!(verify_chain(&v, h), Err(ChainBreak::Unlinked { seq: 3 }));
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let mut a = ev("x");
        let mut b = ev("x");
        a.subject = None;
        b.subject = Some(String::new());
        assert_ne!(
            entry_hash(&GENESIS, 1, 1, &a),
            entry_hash(&GENESIS, 1, 1, &b)
        );
    }
}
