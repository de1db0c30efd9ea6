//! The finished document says what the server does on every operation: the checks here are
//! the rules a new route must keep, so that the generated attacks of
//! `tests/api_schemathesis.rs` find nothing undocumented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::BTreeSet;

/// The served document, as JSON.
fn served() -> Value {
    let (_, api) = crate::routes::api().split_for_parts();
    let (_, proxy) = crate::routes::proxy().split_for_parts();
    serde_json::to_value(super::document(api, proxy)).unwrap()
}

/// `(method, path, operation)` of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 40, "only {} operations", out.len());
    out
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_rate_limited_operation_documents_429() {
    let doc = served();
    for (method, path, op) in operations(&doc) {
        let has = statuses(&op).contains("429");
        if path.starts_with("/v1/forward-auth") {
            assert!(!has, "{method} {path} is not behind the per-IP limit");
        } else {
            assert!(has, "{method} {path} does not document 429");
        }
    }
    let shared = &doc["components"]["responses"]["RateLimited"];
    assert!(shared["headers"]["Retry-After"].is_object(), "{shared}");
    assert!(
        shared["content"]["application/problem+json"].is_object(),
        "{shared}"
    );
}

#[test]
fn problems_are_documented_as_problem_json() {
    let doc = served();
    let problem = "#/components/schemas/Problem";
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let Some(content) = response["content"].as_object() else {
                continue;
            };
            for (media, body) in content {
                let is_problem = body["schema"]["$ref"] == problem;
                assert_eq!(
                    is_problem,
                    media == super::PROBLEM_JSON,
                    "{method} {path} {status}: {media} {body}"
                );
            }
        }
    }
}

#[test]
fn operations_that_read_a_body_document_its_rejections() {
    let doc = served();
    for (method, path, op) in operations(&doc) {
        if op["requestBody"].is_null() {
            continue;
        }
        let have = statuses(&op);
        // The OAuth endpoints answer any unreadable form with an RFC 6749 `invalid_request`.
        let want: &[&str] = if path.starts_with("/v1/oauth/") || path == "/v1/revoke" {
            &["400"]
        } else {
            &["400", "413", "415"]
        };
        for status in want {
            assert!(
                have.contains(*status),
                "{method} {path} reads a body but does not document {status}"
            );
        }
    }
}

#[test]
fn bearer_operations_document_401() {
    let doc = served();
    for (method, path, op) in operations(&doc) {
        let bearer = op["security"]
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some()));
        if bearer {
            assert!(
                statuses(&op).contains("401"),
                "{method} {path} takes a bearer token but does not document 401"
            );
        }
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc = served();
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(
            seen.insert(id.clone()),
            "{method} {path}: operationId {id} twice"
        );
    }
}

#[test]
fn links_join_existing_operations() {
    let doc = served();
    let ops = operations(&doc);
    let ids: BTreeSet<&str> = ops
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    let mut count = 0;
    for (from, status, _, targets) in super::LINKS {
        let (_, _, op) = ops
            .iter()
            .find(|(_, _, op)| op["operationId"] == *from)
            .unwrap_or_else(|| panic!("no operation {from}"));
        let links = &op["responses"][status]["links"];
        for target in *targets {
            assert!(ids.contains(target), "{from} links to unknown {target}");
            assert_eq!(
                links[target]["operationId"], *target,
                "{from} {status}: {links}"
            );
            count += 1;
        }
    }
    assert!(count > 10);
}
