//! RFC 6962 / RFC 9162 Merkle trees: hashing, appending and proofs.
//!
//! The tree is never held in memory. What a ledger keeps is the hash of every *perfect*
//! subtree (2^level leaves starting at a multiple of 2^level, named by a [`NodeId`]): they
//! never change once complete, each append completes one on average, and every hash the RFC
//! defines, of any range, is a fold of O(log n) of them. Appending needs only the tree's
//! right edge, its [`Frontier`].
//!
//! A proof is made in two steps so that storage reads once: [`inclusion_plan`] or
//! [`consistency_plan`] names the subtree hashes the proof is made of and
//! [`Plan::nodes`] the perfect nodes they fold from; with those fetched, [`Plan::assemble`]
//! builds the proof. Verification ([`verify_inclusion`], [`verify_consistency`]) is RFC 9162
//! §2.1.3.2 and §2.1.4.2 as written.

use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A SHA-256 digest: a leaf hash, a node hash or a tree's root.
pub type Hash = [u8; 32];

/// `MTH({})`, the root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf holding `entry`: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A perfect subtree: the 2^`level` leaves from `index` · 2^`level` on. Level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position among the subtrees of that height, from 0.
    pub index: u64,
}

impl NodeId {
    /// The first leaf this subtree covers.
    pub fn first_leaf(self) -> u64 {
        self.index << self.level
    }
}

/// Why a proof could not be made or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The sizes or index asked for do not describe a proof (an index past the end, a
    /// consistency proof to a smaller tree).
    #[error("no such proof: {0}")]
    Range(&'static str),
    /// A perfect subtree the proof needs was not supplied.
    #[error("node {0:?} is missing")]
    MissingNode(NodeId),
    /// The proof has the wrong number of hashes for its sizes.
    #[error("the proof has the wrong length")]
    Length,
    /// The proof does not lead to the root it was checked against.
    #[error("the proof does not match the root")]
    Mismatch,
    /// A frontier's hashes do not fit its size.
    #[error("a tree of {size} leaves has {expected} frontier hashes, not {found}")]
    Frontier {
        /// The tree's size.
        size: u64,
        /// One hash per set bit of the size.
        expected: u32,
        /// What was given.
        found: usize,
    },
}

/// The right edge of a tree: the roots of its largest perfect subtrees, left to right, one per
/// set bit of its size. Enough to append and to compute the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The perfect subtrees whose hashes make the frontier of a tree of `size` leaves, left to
    /// right: what to read from storage to resume appending.
    pub fn peak_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                ids.push(NodeId {
                    level,
                    index: start >> level,
                });
                start += 1u64 << level;
            }
        }
        ids
    }

    /// A frontier from its stored hashes, in the order of [`Frontier::peak_ids`].
    ///
    /// # Errors
    /// [`ProofError::Frontier`] when there is not one hash per set bit of `size`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, ProofError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(ProofError::Frontier {
                size,
                expected: size.count_ones(),
                found: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's hashes, in the order of [`Frontier::peak_ids`].
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf (its [`leaf_hash`]) and returns every perfect subtree it completes,
    /// the leaf itself first: the nodes storage keeps.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut done = vec![(
            NodeId {
                level: 0,
                index: self.size,
            },
            leaf,
        )];
        let mut hash = leaf;
        let mut level = 0u8;
        while self.size & (1u64 << level) != 0 {
            // The bit is set, so a peak of this height is there to pair with.
            let Some(left) = self.peaks.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            done.push((
                NodeId {
                    level,
                    index: self.size >> level,
                },
                hash,
            ));
        }
        self.peaks.push(hash);
        self.size += 1;
        done
    }

    /// The tree's root, `MTH(D[size])`.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// The perfect subtrees whose fold is `MTH(D[start:end])`, left to right, largest first.
///
/// RFC 6962 splits a range at the largest power of two below its length, so the left part is
/// perfect and the right part splits again: the pieces follow the bits of the length. Every
/// range a proof asks for starts on a boundary that makes each piece aligned.
fn pieces(start: u64, end: u64) -> Result<Vec<NodeId>, ProofError> {
    let mut ids = Vec::new();
    let mut at = start;
    let len = end - start;
    for level in (0..64u8).rev() {
        if len & (1u64 << level) != 0 {
            if !at.is_multiple_of(1u64 << level) {
                return Err(ProofError::Range("a range that is not aligned"));
            }
            ids.push(NodeId {
                level,
                index: at >> level,
            });
            at += 1u64 << level;
        }
    }
    Ok(ids)
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// What a proof is made of: the ranges whose `MTH` it lists, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// Every perfect subtree whose hash the proof folds from, without repeats: what to fetch.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self
            .ranges
            .iter()
            .flat_map(|&(start, end)| pieces(start, end).unwrap_or_default())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The proof, from the hashes of [`Plan::nodes`].
    ///
    /// # Errors
    /// [`ProofError::MissingNode`] when `nodes` lacks one of them.
    pub fn assemble(&self, nodes: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, ProofError> {
        self.ranges
            .iter()
            .map(|&(start, end)| range_hash(start, end, nodes))
            .collect()
    }
}

/// `MTH(D[start:end])` from the perfect subtrees it is made of.
fn range_hash(start: u64, end: u64, nodes: &HashMap<NodeId, Hash>) -> Result<Hash, ProofError> {
    let ids = pieces(start, end)?;
    let mut hashes = ids
        .iter()
        .rev()
        .map(|id| nodes.get(id).copied().ok_or(ProofError::MissingNode(*id)));
    let Some(last) = hashes.next() else {
        return Ok(empty_root());
    };
    hashes.try_fold(last?, |right, left| Ok(node_hash(&left?, &right)))
}

/// The root of the first `size` leaves, from perfect subtree hashes (see [`root_plan`]).
///
/// # Errors
/// [`ProofError::MissingNode`] when `nodes` lacks one.
pub fn root_from(size: u64, nodes: &HashMap<NodeId, Hash>) -> Result<Hash, ProofError> {
    range_hash(0, size, nodes)
}

/// The perfect subtrees [`root_from`] needs for a tree of `size` leaves.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    Frontier::peak_ids(size)
}

/// The plan of the audit path of leaf `index` in a tree of `size` leaves (RFC 9162 §2.1.3.1).
///
/// # Errors
/// [`ProofError::Range`] when `index` is not below `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Plan, ProofError> {
    if index >= size {
        return Err(ProofError::Range("the leaf is not in a tree of that size"));
    }
    let mut ranges = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    // PATH(m, D[start:end]) lists the deepest sibling first: collect top-down, then reverse.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            m -= k;
        }
    }
    ranges.reverse();
    Ok(Plan { ranges })
}

/// The plan of the consistency proof from a tree of `old` leaves to one of `new` leaves
/// (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
///
/// # Errors
/// [`ProofError::Range`] when `old` is larger than `new`.
pub fn consistency_plan(old: u64, new: u64) -> Result<Plan, ProofError> {
    if old > new {
        return Err(ProofError::Range("the old tree is larger than the new one"));
    }
    let mut ranges = Vec::new();
    if old == 0 || old == new {
        return Ok(Plan { ranges });
    }
    // SUBPROOF(m, D[start:end], b), unrolled; like PATH it is collected top-down.
    let (mut start, mut end, mut m, mut whole) = (0u64, new, old, true);
    loop {
        if m == end - start {
            if !whole {
                ranges.push((start, end));
            }
            break;
        }
        let k = split(end - start);
        if m <= k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            m -= k;
            whole = false;
        }
    }
    ranges.reverse();
    Ok(Plan { ranges })
}

/// Checks an audit path (RFC 9162 §2.1.3.2): that `leaf` is leaf `index` of the tree of `size`
/// leaves whose root is `root`.
///
/// # Errors
/// [`ProofError::Range`], [`ProofError::Length`] or [`ProofError::Mismatch`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Range("the leaf is not in a tree of that size"));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::Length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Length);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`.
///
/// # Errors
/// [`ProofError::Range`], [`ProofError::Length`] or [`ProofError::Mismatch`].
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Range("the old tree is larger than the new one"));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::Length);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if old == 0 {
        // Every tree extends the empty one; there is nothing to prove.
        return if proof.is_empty() && old_root == &empty_root() {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::Length);
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::Length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Length);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
