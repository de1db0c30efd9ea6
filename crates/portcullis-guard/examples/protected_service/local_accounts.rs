//! The ledger's own accounts, learned from Portcullis by webhook (Standard Webhooks): when
//! someone registers at Portcullis, `account.created` reaches `POST /webhooks/portcullis` and
//! the ledger creates its local account at once, without polling; later events update or
//! remove it. `GET /local-accounts` lists them (an operator's view of this demo).
//!
//! Every delivery is verified before it is believed: the `webhook-signature` header must hold
//! a `v1,` HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the subscription's
//! secret (compared in constant time by `hmac`), and the timestamp must be within five minutes
//! of this service's clock, so a captured delivery cannot be replayed later. A delivery may
//! come more than once (at least once): one already seen (by `webhook-id`) is answered 204
//! again and changes nothing.
//!
//! Like `ledger.rs`, this module is compiled into `portcullis-server`'s `example_service` test.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How far a delivery's timestamp may be from our clock.
pub const TOLERANCE_SECS: i64 = 300;

/// An account as the ledger keeps it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LocalAccount {
    /// Portcullis's account id (the `sub` of its tokens).
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// `pending`, `active`, `disabled`.
    pub status: String,
    /// Roles at Portcullis.
    pub roles: Vec<String>,
}

#[derive(Default)]
struct Accounts {
    by_id: BTreeMap<String, LocalAccount>,
    seen: HashSet<String>,
}

/// The subscriber: the secret and the accounts learned so far.
#[derive(Clone)]
pub struct Subscriber {
    secret: Arc<Vec<u8>>,
    accounts: Arc<Mutex<Accounts>>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Subscriber {
    /// A subscriber verifying with `secret` (`whsec_…`, as Portcullis showed it) and judging
    /// timestamps by `clock` (unix seconds).
    ///
    /// # Errors
    /// A secret that is not `whsec_` and base64.
    pub fn new(
        secret: &str,
        clock: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let b64 = secret
            .strip_prefix("whsec_")
            .ok_or("the secret must start with whsec_")?;
        let secret = STANDARD
            .decode(b64)
            .map_err(|e| format!("the secret is not base64: {e}"))?;
        Ok(Self {
            secret: Arc::new(secret),
            accounts: Arc::default(),
            clock: Arc::new(clock),
        })
    }

    fn accounts(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The accounts learned so far.
    pub fn list(&self) -> Vec<LocalAccount> {
        self.accounts().by_id.values().cloned().collect()
    }

    /// Whether `body` with these headers was signed with our secret, recently.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, &'static str> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(id), Some(ts), Some(signatures)) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        ) else {
            return Err("missing webhook headers");
        };
        let ts: i64 = ts.parse().map_err(|_| "bad timestamp")?;
        if ((self.clock)() - ts).abs() > TOLERANCE_SECS {
            return Err("timestamp outside the tolerance");
        }
        for candidate in signatures.split(' ') {
            let Some(sig) = candidate
                .strip_prefix("v1,")
                .and_then(|s| STANDARD.decode(s).ok())
            else {
                continue;
            };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
                return Err("unusable secret");
            };
            mac.update(format!("{id}.{ts}.").as_bytes());
            mac.update(body);
            if mac.verify_slice(&sig).is_ok() {
                return Ok(id.to_owned());
            }
        }
        Err("no matching signature")
    }
}

/// `POST /webhooks/portcullis` and `GET /local-accounts`.
pub fn router(subscriber: Subscriber) -> Router {
    Router::new()
        .route("/webhooks/portcullis", post(receive))
        .route("/local-accounts", get(list))
        .with_state(subscriber)
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    id: String,
    email: Option<String>,
    status: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

async fn receive(State(sub): State<Subscriber>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = match sub.verify(&headers, &body) {
        Ok(id) => id,
        Err(_) => return StatusCode::UNAUTHORIZED,
    };
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut accounts = sub.accounts();
    if !accounts.seen.insert(id) {
        return StatusCode::NO_CONTENT;
    }
    let d = event.data;
    match event.kind.as_str() {
        "account.deleted" => {
            accounts.by_id.remove(&d.id);
        }
        "account.created" | "account.verified" | "account.updated" | "account.disabled" => {
            let local = LocalAccount {
                id: d.id.clone(),
                email: d.email.unwrap_or_default(),
                status: d.status.unwrap_or_default(),
                roles: d.roles,
            };
            accounts.by_id.insert(d.id, local);
        }
        // A type this version does not know: accepted, so Portcullis does not retry it.
        _ => {}
    }
    StatusCode::NO_CONTENT
}

async fn list(State(sub): State<Subscriber>) -> Json<Vec<LocalAccount>> {
    Json(sub.list())
}
