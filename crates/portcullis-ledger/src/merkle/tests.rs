#![allow(clippy::unwrap_used)]

use super::*;

/// A tree of `n` leaves `[0]`, `[1]`, …: its frontier and every perfect node.
fn tree(n: u64) -> (Frontier, HashMap<NodeId, Hash>) {
    let mut frontier = Frontier::new();
    let mut nodes = HashMap::new();
    for i in 0..n {
        nodes.extend(frontier.push(leaf_hash(&i.to_be_bytes())));
    }
    (frontier, nodes)
}

/// `MTH` straight from RFC 9162 §2.1.1's recursion, as an oracle.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

#[test]
fn frontier_root_matches_the_rfc_recursion_and_every_stored_root() {
    let leaves: Vec<Hash> = (0..70u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let (_, nodes) = tree(70);
    let mut frontier = Frontier::new();
    for (n, leaf) in leaves.iter().enumerate() {
        frontier.push(*leaf);
        let size = n as u64 + 1;
        assert_eq!(frontier.root(), mth(&leaves[..=n]), "size {size}");
        assert_eq!(root_from(size, &nodes).unwrap(), frontier.root());
        let resumed = Frontier::from_peaks(
            size,
            Frontier::peak_ids(size)
                .iter()
                .map(|id| nodes[id])
                .collect(),
        )
        .unwrap();
        assert_eq!(resumed, frontier);
    }
    assert_eq!(Frontier::new().root(), empty_root());
}

#[test]
fn every_inclusion_proof_verifies_and_no_other_leaf_or_size_does() {
    let (_, nodes) = tree(33);
    for size in 1..=33u64 {
        let root = root_from(size, &nodes).unwrap();
        for index in 0..size {
            let plan = inclusion_plan(index, size).unwrap();
            let proof = plan.assemble(&nodes).unwrap();
            let leaf = leaf_hash(&index.to_be_bytes());
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            let other = leaf_hash(&(index + 1).to_be_bytes());
            assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            if size > 1 {
                let moved = (index + 1) % size;
                assert!(verify_inclusion(&leaf, moved, size, &proof, &root).is_err());
            }
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_a_changed_root_does_not() {
    let (_, nodes) = tree(33);
    for new in 1..=33u64 {
        let new_root = root_from(new, &nodes).unwrap();
        for old in 1..=new {
            let old_root = root_from(old, &nodes).unwrap();
            let proof = consistency_plan(old, new)
                .unwrap()
                .assemble(&nodes)
                .unwrap();
            verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
            let wrong = leaf_hash(b"not the root");
            assert!(verify_consistency(old, new, &wrong, &new_root, &proof).is_err());
            assert!(verify_consistency(old, new, &old_root, &wrong, &proof).is_err());
            if !proof.is_empty() {
                let short = &proof[..proof.len() - 1];
                assert!(verify_consistency(old, new, &old_root, &new_root, short).is_err());
            }
        }
    }
}

#[test]
fn a_missing_node_is_named_not_guessed() {
    let (_, mut nodes) = tree(8);
    let plan = inclusion_plan(0, 8).unwrap();
    let gone = plan.nodes()[0];
    nodes.remove(&gone);
    assert_eq!(plan.assemble(&nodes), Err(ProofError::MissingNode(gone)));
    assert!(inclusion_plan(8, 8).is_err());
    assert!(consistency_plan(9, 8).is_err());
    assert!(Frontier::from_peaks(3, vec![[0; 32]]).is_err());
}
