//! Interoperability: third-party Python code (`tests/interop/ledger_check.py`, with PyPI's
//! `pymerkle` and `cryptography`) recomputes our roots, verifies our inclusion and consistency
//! proofs and our signed checkpoint, and rejects tampered ones.
//!
//! Needs the interop venv that `scripts/test` builds: it sets `PORTCULLIS_TEST_PYTHON` and
//! `PORTCULLIS_TEST_INTEROP_DIR`. Without them the test fails rather than passing unchecked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use portcullis_ledger::checkpoint::Checkpoint;
use portcullis_ledger::merkle::{Frontier, Hash, NodeId, consistency_plan, inclusion_plan};
use portcullis_ledger::note::NoteSigner;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Command;

const ORIGIN: &str = "portcullis.test/ledger/audit";
const ENTRIES: u64 = 70;
/// Sizes around the powers of two, where the proofs change shape.
const SIZES: [u64; 12] = [1, 2, 3, 4, 5, 7, 8, 13, 31, 32, 33, 70];

fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the Python venv with pymerkle and cryptography \
             that `scripts/test` builds from tests/interop/requirements.txt; run e.g. \
             `scripts/test -p portcullis-ledger --test interop_python`"
        ),
    }
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// A ledger of `ENTRIES` entries of varied lengths (the first empty), its proofs for `SIZES`
/// and a checkpoint of the whole tree signed by `key`, as the script reads them.
fn case(key: SigningKey) -> Value {
    let entries: Vec<Vec<u8>> = (0..ENTRIES)
        .map(|i| (0..i % 37).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect();
    let mut frontier = Frontier::new();
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    let mut roots = Vec::new();
    for entry in &entries {
        nodes.extend(frontier.push(portcullis_ledger::merkle::leaf_hash(entry)));
        roots.push(frontier.root());
    }

    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for &size in &SIZES {
        for index in 0..size {
            let proof = inclusion_plan(index, size)
                .unwrap()
                .assemble(&nodes)
                .unwrap();
            inclusion.push(json!({"index": index, "size": size, "proof": hexes(&proof)}));
        }
        for &old in SIZES.iter().filter(|&&old| old <= size) {
            let proof = consistency_plan(old, size)
                .unwrap()
                .assemble(&nodes)
                .unwrap();
            consistency.push(json!({"old": old, "new": size, "proof": hexes(&proof)}));
        }
    }

    let signer = NoteSigner::new(ORIGIN, key).unwrap();
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: ENTRIES,
        root: frontier.root(),
    };
    json!({
        "entries": entries.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": hexes(&roots),
        "inclusion": inclusion,
        "consistency": consistency,
        "checkpoint": {"note": checkpoint.sign(&signer).unwrap(), "vkey": signer.verifier().vkey()},
    })
}

/// Runs the script on `case`; returns its exit code and its output.
fn run_check(case: &Value) -> (i32, String) {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = format!(
        "{}/ledger_check.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    std::fs::write(&path, serde_json::to_vec(case).unwrap()).unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), output)
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn pymerkle_and_cryptography_verify_our_tree_proofs_and_checkpoint() {
    let case = case(key(1));
    let (code, output) = run_check(&case);
    assert_eq!(code, 0, "ledger_check.py failed:\n{output}");
    println!("{output}");
    let inclusions = case["inclusion"].as_array().unwrap().len();
    let consistencies = case["consistency"].as_array().unwrap().len();
    for line in [
        format!("roots: {ENTRIES} sizes equal pymerkle 7.0.0's"),
        format!("inclusion: {inclusions} proofs equal pymerkle's and verified by it"),
        format!("consistency: {consistencies} proofs verified (RFC 9162 2.1.4.2)"),
        format!("checkpoint: Ed25519 signature by {ORIGIN} verified, size {ENTRIES}"),
        "negative: ".to_owned(),
        "ledger_check: OK".to_owned(),
    ] {
        assert!(output.contains(&line), "missing {line:?} in:\n{output}");
    }
}

#[test]
fn the_script_refuses_a_wrong_root_proof_or_key() {
    // A root that is not pymerkle's.
    let mut wrong_root = case(key(2));
    wrong_root["roots"][4] = json!(hex::encode([0u8; 32]));
    let (code, output) = run_check(&wrong_root);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("FAIL: root of size 5 differs"), "{output}");

    // A consistency proof with one hash changed.
    let mut wrong_proof = case(key(2));
    let five_to_all = wrong_proof["consistency"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["old"] == 5 && p["new"] == ENTRIES)
        .unwrap();
    five_to_all["proof"][0] = json!(hex::encode([7u8; 32]));
    let (code, output) = run_check(&wrong_proof);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("FAIL: RFC 9162 verifier rejects our PROOF(5, 70)"),
        "{output}"
    );

    // A checkpoint signed by another key than the vkey names.
    let mut wrong_key = case(key(2));
    wrong_key["checkpoint"]["note"] = case(key(3))["checkpoint"]["note"].clone();
    let (code, output) = run_check(&wrong_key);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("FAIL: the checkpoint's signature does not verify"),
        "{output}"
    );
}
