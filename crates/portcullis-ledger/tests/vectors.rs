//! RFC 6962 / Certificate Transparency vectors and an independent implementation against
//! `portcullis_ledger::merkle`.
//!
//! The leaves, node hashes and roots are those of the CT reference tree, as kept in
//! transparency-dev/merkle `testonly/constants.go` (from google/certificate-transparency's
//! `merkle_tree_test`); the inclusion and consistency proofs are the CT vectors of
//! transparency-dev/merkle `proof/verify_test.go` (commit eb3bd59, 2022, where they were
//! still inline; today they live in its `testdata/{inclusion,consistency}/*/happy-path.json`).
//! The randomized cross-check compares every root and proof with `ct-merkle` 0.3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use portcullis_ledger::merkle::{
    Frontier, Hash, NodeId, ProofError, consistency_plan, empty_root, inclusion_plan, leaf_hash,
    root_from, verify_consistency, verify_inclusion,
};
use std::collections::HashMap;

type Oracle = sha2_oracle::Sha256;

/// The eight CT test leaves.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `MTH` of the first 1, 2, …, 8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every perfect subtree of the 8-leaf tree, by level then index.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// CT inclusion vectors: (leaf index, 0-based; tree size; audit path). The source numbers
/// leaves from 1 (`{1, 8, …}` is leaf 0); its `{0, 0, nil}` (no leaf, empty tree) is the
/// error case checked below.
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// CT consistency vectors: (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn hs(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

/// The CT tree: its frontier after each append and every perfect node.
fn ct_tree() -> (Vec<Hash>, HashMap<NodeId, Hash>) {
    let mut frontier = Frontier::new();
    let mut nodes = HashMap::new();
    let mut roots = Vec::new();
    for leaf in LEAVES {
        nodes.extend(frontier.push(leaf_hash(&hex::decode(leaf).unwrap())));
        roots.push(frontier.root());
    }
    (roots, nodes)
}

#[test]
fn ct_leaves_give_the_ct_roots_and_nodes() {
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let (roots, nodes) = ct_tree();
    assert_eq!(roots, hs(&ROOTS));
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(root_from(size as u64 + 1, &nodes).unwrap(), h(root));
    }
    for (level, hashes) in NODES.iter().enumerate() {
        for (index, node) in hashes.iter().enumerate() {
            let id = NodeId {
                level: level as u8,
                index: index as u64,
            };
            assert_eq!(nodes[&id], h(node), "{id:?}");
        }
    }
    assert_eq!(nodes.len(), 15, "only perfect subtrees are stored");
}

#[test]
fn ct_inclusion_proofs_are_made_and_verified() {
    let (_, nodes) = ct_tree();
    for (index, size, want) in INCLUSION {
        let proof = inclusion_plan(index, size)
            .unwrap()
            .assemble(&nodes)
            .unwrap();
        assert_eq!(proof, hs(want), "PATH({index}, D[{size}])");
        let leaf = leaf_hash(&hex::decode(LEAVES[index as usize]).unwrap());
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        // The same path does not prove another leaf, index, size or root.
        let other = leaf_hash(b"not a CT leaf");
        assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
        assert!(verify_inclusion(&leaf, index ^ 1, size, &proof, &root).is_err() || size == 1);
        // (Not the size: a path binds the size only through the root, which the checkpoint
        // signs with it. Index 1's path in 5 leaves has the shape of its path in 6.)
        assert!(verify_inclusion(&leaf, index, size, &proof, &empty_root()).is_err());
        let mut longer = proof.clone();
        longer.push(root);
        assert_eq!(
            verify_inclusion(&leaf, index, size, &longer, &root),
            Err(ProofError::Length)
        );
    }
    // `{0, 0, nil}`: nothing is included in the empty tree.
    assert!(inclusion_plan(0, 0).is_err());
    assert!(verify_inclusion(&empty_root(), 0, 0, &[], &empty_root()).is_err());
}

#[test]
fn ct_consistency_proofs_are_made_and_verified() {
    let (_, nodes) = ct_tree();
    for (old, new, want) in CONSISTENCY {
        let proof = consistency_plan(old, new)
            .unwrap()
            .assemble(&nodes)
            .unwrap();
        assert_eq!(proof, hs(want), "PROOF({old}, D[{new}])");
        let (old_root, new_root) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
        assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err() || old == new);
        if let Some((first, rest)) = proof.split_first() {
            assert!(verify_consistency(old, new, &old_root, &new_root, rest).is_err());
            let mut flipped = proof.clone();
            flipped[0][0] ^= 1;
            assert!(verify_consistency(old, new, &old_root, &new_root, &flipped).is_err());
            let mut swapped = rest.to_vec();
            swapped.push(*first);
            assert!(
                verify_consistency(old, new, &old_root, &new_root, &swapped).is_err()
                    || proof.len() == 1
            );
        }
    }
}

/// SplitMix64: a deterministic stream, so a failure names a seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn entry(&mut self) -> Vec<u8> {
        let len = self.below(40) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

#[test]
fn roots_and_proofs_match_ct_merkle_on_random_trees() {
    for seed in 0..6u64 {
        let mut rng = Rng(seed);
        let n = 1 + rng.below(300);
        let mut oracle = MemoryBackedTree::<Oracle, Vec<u8>>::new();
        let mut frontier = Frontier::new();
        let mut nodes = HashMap::new();
        let mut roots = Vec::new();
        for size in 1..=n {
            let entry = rng.entry();
            nodes.extend(frontier.push(leaf_hash(&entry)));
            oracle.push(entry);
            let root = frontier.root();
            assert_eq!(
                oracle.root().as_bytes().as_slice(),
                root,
                "seed {seed} size {size}"
            );
            roots.push(root);

            // A few inclusion and consistency proofs at this size, byte for byte.
            for _ in 0..3 {
                let index = rng.below(size);
                let ours = inclusion_plan(index, size)
                    .unwrap()
                    .assemble(&nodes)
                    .unwrap();
                let theirs = oracle.prove_inclusion(index as usize);
                assert_eq!(
                    theirs.as_bytes(),
                    bytes(&ours),
                    "seed {seed} PATH({index}, {size})"
                );
                let entry = oracle.items()[index as usize].clone();
                let as_theirs = InclusionProof::<Oracle>::from_bytes(bytes(&ours));
                oracle
                    .root()
                    .verify_inclusion(&entry, index, &as_theirs)
                    .unwrap();
                verify_inclusion(&leaf_hash(&entry), index, size, &ours, &root).unwrap();

                let old = 1 + rng.below(size);
                let ours = consistency_plan(old, size)
                    .unwrap()
                    .assemble(&nodes)
                    .unwrap();
                let old_root = roots[old as usize - 1];
                verify_consistency(old, size, &old_root, &root, &ours).unwrap();
                if old < size {
                    let theirs = oracle.prove_consistency((size - old) as usize);
                    assert_eq!(
                        theirs.as_bytes(),
                        bytes(&ours),
                        "seed {seed} PROOF({old}, {size})"
                    );
                    let old_theirs = RootHash::<Oracle>::new(old_root.into(), old);
                    let as_theirs =
                        ConsistencyProof::<Oracle>::try_from_bytes(bytes(&ours)).unwrap();
                    oracle
                        .root()
                        .verify_consistency(&old_theirs, &as_theirs)
                        .unwrap();
                }
            }
        }
    }
}
