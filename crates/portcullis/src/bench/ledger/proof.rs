//! What checking an inclusion proof costs: `merkle::verify_inclusion` in a tree of a million
//! leaves, against one SHA-256 of the proof's own bytes (32 · k bytes for k siblings), the
//! least a verifier that reads the proof could spend.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context as _;
use portcullis_ledger::merkle::{self, Frontier, Hash, NodeId};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::bench::print_rows;

/// Proofs verified (and hashed) per measurement.
const SAMPLES: usize = 20_000;

/// What the proof phase measured.
pub(super) struct Proofs {
    leaves: u64,
    build_secs: f64,
    mean_siblings: f64,
    verify_us: f64,
    sha256_us: f64,
}

impl Proofs {
    pub(super) fn print(&self) {
        println!(
            "\ninclusion proofs in a tree of {} leaves (built in memory in {:.1} s)",
            self.leaves, self.build_secs
        );
        print_rows(&[
            (
                "verify_inclusion",
                format!("{:.2} µs", self.verify_us),
                format!("{:.1} siblings", self.mean_siblings),
            ),
            (
                "one SHA-256 of the proof's bytes",
                format!("{:.2} µs", self.sha256_us),
                String::new(),
            ),
            (
                "  verify / SHA-256",
                format!("{:.2}×", self.verify_us / self.sha256_us),
                String::new(),
            ),
        ]);
    }

    pub(super) fn json(&self) -> serde_json::Value {
        json!({
            "leaves": self.leaves,
            "mean_siblings": self.mean_siblings,
            "verify_us": self.verify_us,
            "sha256_of_proof_us": self.sha256_us,
            "ratio": self.verify_us / self.sha256_us,
        })
    }
}

/// Builds the tree of `leaves` leaves, makes proofs of spread-out leaves, and times their
/// verification against a hash of their bytes.
///
/// # Errors
/// A proof could not be made, or did not verify.
pub(super) fn run(leaves: u64) -> anyhow::Result<Proofs> {
    let leaves = leaves.max(2);
    let started = Instant::now();
    let mut frontier = Frontier::new();
    let mut nodes: HashMap<NodeId, Hash> =
        HashMap::with_capacity(usize::try_from(leaves * 2).unwrap_or(0));
    for i in 0..leaves {
        nodes.extend(frontier.push(merkle::leaf_hash(&i.to_be_bytes())));
    }
    let root = frontier.root();
    let build_secs = started.elapsed().as_secs_f64();

    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut proofs = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % leaves;
        let path = merkle::inclusion_plan(index, leaves)?.assemble(&nodes)?;
        let leaf = *nodes
            .get(&NodeId { level: 0, index })
            .context("a leaf of the tree")?;
        let bytes: Vec<u8> = path.iter().flatten().copied().collect();
        proofs.push((index, leaf, path, bytes));
    }
    drop(nodes);

    let t = Instant::now();
    for (index, leaf, path, _) in &proofs {
        merkle::verify_inclusion(leaf, *index, leaves, path, std::hint::black_box(&root))
            .with_context(|| format!("the proof of leaf {index} did not verify"))?;
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / SAMPLES as f64;

    let t = Instant::now();
    for (_, _, _, bytes) in &proofs {
        std::hint::black_box(Sha256::digest(std::hint::black_box(bytes)));
    }
    let sha256_us = t.elapsed().as_secs_f64() * 1e6 / SAMPLES as f64;

    let siblings: usize = proofs.iter().map(|p| p.2.len()).sum();
    Ok(Proofs {
        leaves,
        build_secs,
        mean_siblings: siblings as f64 / SAMPLES as f64,
        verify_us,
        sha256_us,
    })
}
