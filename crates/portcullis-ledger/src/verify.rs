//! Re-deriving a ledger from its entries: every leaf from its bytes, every stored node, and
//! the root at every signed checkpoint, checked against the ledger's public key.
//!
//! Someone who edits the database can change entries, nodes and heads, but cannot sign a head
//! without the key file: an edited entry changes the roots after it, a cut-off tail leaves the
//! signed head larger than what is stored. [`verify`] names the first thing that is wrong.

use std::collections::BTreeMap;

use crate::LedgerError;
use crate::checkpoint::Checkpoint;
use crate::entry::{BadEntry, Entry};
use crate::ledger::Ledger;
use crate::merkle::{Frontier, Hash};

/// Entries read per page.
const PAGE: i64 = 10_000;

/// What a clean verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Entries re-derived (the signed head's size).
    pub entries: u64,
    /// Signed checkpoints whose root was re-derived, the head's included.
    pub checkpoints: u64,
    /// The verified root.
    pub root: Hash,
}

/// The first thing found wrong.
#[derive(Debug, thiserror::Error)]
pub enum Break {
    /// An entry's bytes, position or columns do not hold together.
    #[error(transparent)]
    Entry(#[from] BadEntry),
    /// An entry is missing from the sequence.
    #[error("entry {expected} is missing (found {found} in its place): entries were deleted")]
    Missing {
        /// The index that should have come next.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// The entries end before the signed head.
    #[error(
        "the ledger holds {present} entries but its signed head covers {signed}: entries were cut off the end"
    )]
    Truncated {
        /// Entries present.
        present: u64,
        /// Entries the head signs.
        signed: u64,
    },
    /// The entries up to a signed checkpoint do not give its root.
    #[error(
        "the entries up to {size} do not give the root signed at that size: an entry before it was changed, {first_suspect}"
    )]
    Root {
        /// The checkpoint's size.
        size: u64,
        /// Where to look.
        first_suspect: String,
    },
    /// A stored subtree hash is not the one its leaves give (proofs from it would be wrong).
    #[error("stored node (level {level}, index {index}) does not match its leaves")]
    Node {
        /// Its height.
        level: u8,
        /// Its index.
        index: u64,
    },
    /// A checkpoint is not signed by the ledger's key, or does not say what its row says.
    #[error("the checkpoint at size {size} is not valid: {reason}")]
    Checkpoint {
        /// The checkpoint's size as stored.
        size: u64,
        /// Why.
        reason: String,
    },
}

/// Checks `ledger` up to its signed head; `progress(done, total)` is called after each page.
///
/// # Errors
/// The outer error is a failure to read; the inner one what verification found.
pub async fn verify(
    ledger: &Ledger,
    mut progress: impl FnMut(u64, u64),
) -> Result<Result<Report, Break>, LedgerError> {
    let verifier = ledger.verifier();
    let head = ledger.head().await?;
    let open = |size: u64, note: &str, root: &Hash| -> Result<(), Break> {
        let checkpoint = Checkpoint::open(note, verifier).map_err(|e| Break::Checkpoint {
            size,
            reason: e.to_string(),
        })?;
        if checkpoint.size != size || &checkpoint.root != root {
            return Err(Break::Checkpoint {
                size,
                reason: "its signed size or root differs from the stored ones".into(),
            });
        }
        Ok(())
    };
    if let Err(e) = open(head.size, &head.checkpoint, &head.root) {
        return Ok(Err(e));
    }
    // Every signed root to re-derive, by size.
    let mut signed: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = ledger.checkpoints(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.size;
        for kept in page.iter().filter(|k| k.size <= head.size) {
            if let Err(e) = open(kept.size, &kept.note, &kept.root) {
                return Ok(Err(e));
            }
            signed.insert(kept.size, kept.root);
        }
    }
    signed.insert(head.size, head.root);
    let checkpoints = signed.len() as u64;
    if head.size == 0 {
        progress(0, 0);
        return Ok(Ok(Report {
            entries: 0,
            checkpoints,
            root: head.root,
        }));
    }
    let mut frontier = Frontier::new();
    let mut last_good = 0u64;
    while frontier.size() < head.size {
        let from = frontier.size();
        let remaining = i64::try_from(head.size - from).unwrap_or(PAGE);
        let page = ledger.entries(from, PAGE.min(remaining)).await?;
        if page.is_empty() {
            return Ok(Err(Break::Truncated {
                present: from,
                signed: head.size,
            }));
        }
        let mut built: BTreeMap<u8, Vec<(u64, Hash)>> = BTreeMap::new();
        for stored in &page {
            if stored.index != frontier.size() {
                return Ok(Err(Break::Missing {
                    expected: frontier.size(),
                    found: stored.index,
                }));
            }
            if let Err(e) = Entry::decode(stored) {
                return Ok(Err(e.into()));
            }
            for (id, hash) in frontier.push(stored.leaf) {
                if id.level > 0 {
                    built.entry(id.level).or_default().push((id.index, hash));
                }
            }
            if let Some(root) = signed.get(&frontier.size()) {
                if &frontier.root() != root {
                    return Ok(Err(Break::Root {
                        size: frontier.size(),
                        first_suspect: format!(
                            "after entry {last_good} (the last size whose signed root matched)"
                        ),
                    }));
                }
                last_good = frontier.size();
            }
        }
        for (level, nodes) in built {
            let (Some(first), Some(last)) = (nodes.first(), nodes.last()) else {
                continue;
            };
            let stored = ledger
                .storage()
                .node_range(level, first.0, last.0 + 1)
                .await?;
            if let Some(bad) = nodes
                .iter()
                .zip(stored.iter().map(Some).chain(std::iter::repeat(None)))
                .find(|(want, got)| got.is_none_or(|got| got != *want))
            {
                return Ok(Err(Break::Node {
                    level,
                    index: bad.0.0,
                }));
            }
        }
        progress(frontier.size(), head.size);
    }
    Ok(Ok(Report {
        entries: head.size,
        checkpoints,
        root: head.root,
    }))
}
