//! The checks after a restart: every acknowledged write is there, a request whose answer
//! was lost left either the state before it or the state after it, and no refresh token
//! works twice.

use reqwest::Client;
use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::ledger::Ledger;
use super::load::Fixture;
use super::server::Env;

/// Every check, on the server restarted at `base`.
pub async fn all(http: &Client, base: &str, env: &Env, fixture: &Fixture, ledger: &Ledger) {
    registrations(http, base, env, ledger).await;
    refresh_families(http, base, ledger).await;
    factors(http, base, fixture, ledger).await;
    checks(env, fixture, ledger).await;
}

async fn post(http: &Client, url: String, body: Value) -> (u16, Value) {
    let r = http.post(url).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every acknowledged registration exists with its id, every acknowledged verification
/// left it active, and a verified account logs in with its password.
async fn registrations(http: &Client, base: &str, env: &Env, ledger: &Ledger) {
    let accounts = env.accounts();
    let to_prove: Vec<(usize, String, String)> = {
        let book = ledger.lock();
        for r in &book.registered {
            let (id, status) = accounts
                .get(&r.email)
                .unwrap_or_else(|| panic!("the acknowledged registration {} was lost", r.id));
            assert_eq!(id, &r.id, "a registration came back with another id");
            if r.verified {
                assert_eq!(status, "active", "the verification of {id} was lost");
            }
        }
        book.registered
            .iter()
            .enumerate()
            .filter(|(_, r)| r.verified && !r.proven)
            .map(|(i, r)| (i, r.email.clone(), r.password.clone()))
            .collect()
    };
    for (i, email, password) in to_prove {
        let url = format!("{base}/v1/sessions");
        let (status, body) = post(http, url, json!({"email": email, "password": password})).await;
        assert_eq!(status, 201, "a verified account cannot log in: {body}");
        ledger.lock().registered[i].proven = true;
    }
}

/// Presents a refresh token; `Some(new token)` when it worked.
async fn refresh(http: &Client, base: &str, token: &str) -> Option<String> {
    let url = format!("{base}/v1/tokens/refresh");
    let (status, body) = post(http, url, json!({"refresh_token": token})).await;
    match status {
        200 => Some(body["refresh_token"].as_str().expect("refresh").to_owned()),
        401 => None,
        other => panic!("refresh answered {other}: {body}"),
    }
}

/// The latest token of each session works once (unless its rotation was cut off, when it
/// may already be spent), then never again; every token whose rotation was acknowledged
/// is refused, twice. The reuse revokes the family, so the sessions end here and the next
/// cycle logs in afresh.
async fn refresh_families(http: &Client, base: &str, ledger: &Ledger) {
    let families = std::mem::take(&mut ledger.lock().families);
    for f in families {
        match refresh(http, base, &f.current).await {
            Some(next) => {
                // The family is revoked by the reuse below; `next` never works after it.
                assert!(
                    refresh(http, base, &f.current).await.is_none(),
                    "a refresh token worked twice"
                );
                for _ in 0..2 {
                    assert!(
                        refresh(http, base, &next).await.is_none(),
                        "a token of a family revoked for reuse worked"
                    );
                }
            }
            None => {
                assert!(
                    f.in_flight,
                    "the latest acknowledged refresh token (or its session) was lost"
                );
                assert!(refresh(http, base, &f.current).await.is_none());
            }
        }
        for spent in &f.spent {
            for _ in 0..2 {
                assert!(
                    refresh(http, base, spent).await.is_none(),
                    "a rotated refresh token worked again after the restart"
                );
            }
        }
    }
}

/// Each factor account has exactly its acknowledged confirmed factors, give or take the one
/// whose change was cut off.
async fn factors(http: &Client, base: &str, fixture: &Fixture, ledger: &Ledger) {
    for (me, token) in fixture.factor_access.iter().enumerate() {
        let r = http
            .get(format!("{base}/v1/me/factors"))
            .bearer_auth(token)
            .send()
            .await
            .expect("factors");
        assert_eq!(r.status(), 200, "the factor account's session was lost");
        let list: Value = r.json().await.expect("json");
        let listed: Vec<&Value> = list["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .collect();
        let id = |f: &&Value| f["id"].as_str().expect("id").to_owned();
        let confirmed: BTreeSet<String> = listed
            .iter()
            .filter(|f| f["confirmed"] == true)
            .map(id)
            .collect();
        let all: BTreeSet<String> = listed.iter().map(id).collect();
        let mut book = ledger.lock();
        let f = &mut book.factors[me];
        let uncertain: BTreeSet<String> = f.uncertain.iter().cloned().collect();
        for gone in f.present.difference(&confirmed) {
            assert!(
                uncertain.contains(gone),
                "the confirmed factor {gone} was lost"
            );
        }
        for back in confirmed.difference(&f.present) {
            assert!(
                uncertain.contains(back),
                "factor {back} came back or was never confirmed"
            );
        }
        for removed in &f.removed {
            assert!(
                !all.contains(removed),
                "the removed factor {removed} came back"
            );
        }
        // What the cut-off request did is known now.
        f.present = confirmed;
        f.uncertain = None;
    }
}

/// Every acknowledged DualConfirm check is in the audit log.
async fn checks(env: &Env, fixture: &Fixture, ledger: &Ledger) {
    let acknowledged = ledger.lock().totals.checks;
    let audited = env.count_audit("dualconfirm.check", &fixture.pair).await;
    assert!(
        u64::try_from(audited).unwrap() >= acknowledged,
        "{acknowledged} DualConfirm checks acknowledged, {audited} audited"
    );
}
