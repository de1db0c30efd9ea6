//! The ledgers over HTTP, on SQLite and PostgreSQL: the published key opens the published
//! checkpoint, every inclusion proof and a consistency proof verify against it, entries hash
//! to their leaves, the audit ledger's entries are for administrators, and bad requests get
//! problems.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_ledger::checkpoint::Checkpoint;
use portcullis_ledger::merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use portcullis_ledger::note::NoteVerifier;
use serde_json::{Map, Value};
use support::{Backend, TestApp};

fn hash(v: &Value) -> Hash {
    STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

async fn signed_head(app: &TestApp, name: &str, vkey: &str) -> Checkpoint {
    let reply = app
        .get(&format!("/v1/ledgers/{name}/checkpoint"), None)
        .await;
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let verifier = NoteVerifier::from_vkey(vkey).unwrap();
    Checkpoint::open(&reply.text, &verifier).unwrap()
}

async fn proofs_verify_against_the_published_checkpoint(backend: Backend) {
    let app = TestApp::builder().backend(backend).spawn().await;
    let auth = &app.server().state.ledgers().auth_ledger;
    for i in 0..7 {
        auth.mint(1, &format!("nft-{i}"), "0xabc", Map::new())
            .await
            .unwrap();
    }
    auth.burn(2, "nft-3").await.unwrap();

    let list = app.get("/v1/ledgers", None).await;
    list.expect(200);
    let list = list.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["auth", "req", "audit"]);
    let vkey = list[0]["vkey"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["size"], 8);
    assert!(
        list[0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("/ledger/auth")
    );

    let head = signed_head(&app, "auth", &vkey).await;
    assert_eq!(head.size, 8);
    // Another ledger's key does not open this checkpoint.
    let req_vkey = list[1]["vkey"].as_str().unwrap();
    let text = app.get("/v1/ledgers/auth/checkpoint", None).await;
    assert!(Checkpoint::open(&text.text, &NoteVerifier::from_vkey(req_vkey).unwrap()).is_err());

    let entries = app
        .get("/v1/ledgers/auth/entries?from=0&limit=100", None)
        .await;
    entries.expect(200);
    let entries = entries.json();
    assert_eq!(entries.as_array().unwrap().len(), 8);
    for entry in entries.as_array().unwrap() {
        let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
        assert_eq!(leaf_hash(&body), hash(&entry["leaf_hash"]));
        let index = entry["index"].as_u64().unwrap();
        let proof = app
            .get(
                &format!("/v1/ledgers/auth/proof/inclusion?index={index}"),
                None,
            )
            .await;
        proof.expect(200);
        let proof = proof.json();
        assert_eq!(proof["size"], 8);
        assert_eq!(proof["leaf_hash"], entry["leaf_hash"]);
        verify_inclusion(
            &hash(&proof["leaf_hash"]),
            index,
            8,
            &hashes(&proof["path"]),
            &head.root,
        )
        .unwrap();
    }
    assert_eq!(entries[7]["kind"], "burn");
    assert_eq!(entries[7]["entry"]["payload"]["token"]["token"], "nft-3");

    // The ledger only grew: from the head seen above to the next one.
    auth.mint(3, "nft-9", "0xdef", Map::new()).await.unwrap();
    let later = signed_head(&app, "auth", &vkey).await;
    let proof = app
        .get(
            &format!("/v1/ledgers/auth/proof/consistency?old={}", head.size),
            None,
        )
        .await;
    proof.expect(200);
    let proof = proof.json();
    assert_eq!(proof["new"], 9);
    verify_consistency(8, 9, &head.root, &later.root, &hashes(&proof["path"])).unwrap();

    // Refusals.
    app.get("/v1/ledgers/nope/checkpoint", None)
        .await
        .problem(404, None);
    app.get("/v1/ledgers/auth/proof/inclusion?index=9", None)
        .await
        .problem(400, Some("ledger-range"));
    app.get("/v1/ledgers/auth/proof/inclusion?index=0&size=99", None)
        .await
        .problem(400, Some("ledger-range"));
    app.get("/v1/ledgers/auth/proof/consistency?old=5&new=2", None)
        .await
        .problem(400, Some("ledger-range"));
    app.get("/v1/ledgers/auth/proof/inclusion?index=-1", None)
        .await
        .problem(400, Some("invalid-query"));
    app.get("/v1/ledgers/auth/entries?limit=0", None)
        .await
        .problem(400, Some("ledger-range"));
    // The audit ledger's heads are public, its entries are not.
    let audit_vkey = list[2]["vkey"].as_str().unwrap();
    signed_head(&app, "audit", audit_vkey).await;
    app.get("/v1/ledgers/audit/entries", None)
        .await
        .problem(403, None);
    app.get("/v1/admin/ledgers/audit/entries", None)
        .await
        .problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_proofs_verify_against_the_published_checkpoint() {
    proofs_verify_against_the_published_checkpoint(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_proofs_verify_against_the_published_checkpoint() {
    proofs_verify_against_the_published_checkpoint(Backend::Postgres).await;
}
