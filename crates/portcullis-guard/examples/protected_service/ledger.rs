//! The accounts-ledger API of the `protected_service` example: a downstream service that
//! leaves authentication to Portcullis and only states, per route, what it demands.
//!
//! | route | demands | why |
//! | --- | --- | --- |
//! | `GET /health` | nothing | load balancers and uptime checks carry no token |
//! | `GET /accounts` | role [`READER_ROLE`] | balances are private, but reading them is harmless, so a password-only login of any age will do |
//! | `POST /transfers` | role [`WRITER_ROLE`], `acr` [`TRANSFER_ACR`], an authentication at most [`TRANSFER_MAX_AGE_SECS`] old | moving money is what a stolen password or an unattended laptop would be used for |
//!
//! A token too weak or too old for a transfer is answered 401 with an RFC 9470
//! `insufficient_user_authentication` challenge naming the `acr_values` and `max_age` to
//! meet; the client proves a second factor at Portcullis (`POST /v1/sessions/current/step-up`)
//! and retries with the new token. A missing role is 403 instead: no step-up grants a role.
//!
//! The guard runs as a route layer, before any extractor, so a refused request never reaches
//! a handler (nor has its body parsed), and a handler taking [`Verified`] fails closed if it is
//! ever mounted without the layer.
//!
//! This module is also compiled into `portcullis-server`'s `example_service` test, which runs
//! it against a real Portcullis; it therefore uses only the guard, axum, serde and the
//! standard library.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Json, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_guard::{Guard, GuardLayer, Requirement, Verified};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The role that may read balances.
pub const READER_ROLE: &str = "ledger-reader";
/// The role that may move money (with a recent second factor on top).
pub const WRITER_ROLE: &str = "ledger-writer";
/// The assurance a transfer needs: two distinct factors.
pub const TRANSFER_ACR: &str = "aal2";
/// How old, in seconds, the authentication behind a transfer may be.
pub const TRANSFER_MAX_AGE_SECS: i64 = 300;

/// The ledger API on `ledger`'s accounts, guarded by `guard`.
pub fn router(guard: &Guard, ledger: Ledger) -> Router {
    let reading = Router::new()
        .route("/accounts", get(list_accounts))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated().role(READER_ROLE),
        ));
    let moving = Router::new()
        .route("/transfers", post(transfer))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated()
                .role(WRITER_ROLE)
                .acr(TRANSFER_ACR)
                .max_age(TRANSFER_MAX_AGE_SECS),
        ));
    Router::new()
        .route("/health", get(health))
        .merge(reading)
        .merge(moving)
        .with_state(ledger)
}

/// Accounts and their balances in cents, in memory; clones share them.
///
/// A real service keeps these in its own database; in memory is enough to show that a
/// transfer the guard admits really changes balances and one it refuses does not.
#[derive(Clone, Debug)]
pub struct Ledger {
    books: Arc<Mutex<Books>>,
}

#[derive(Debug)]
struct Books {
    balances: BTreeMap<String, u64>,
    transfers: u64,
}

impl Ledger {
    /// Three accounts with some money: `operating`, `payroll` and `reserve`.
    pub fn demo() -> Self {
        let balances = [
            ("operating", 250_000),
            ("payroll", 40_000),
            ("reserve", 1_000_000),
        ]
        .into_iter()
        .map(|(id, cents)| (id.to_owned(), cents))
        .collect();
        Self {
            books: Arc::new(Mutex::new(Books {
                balances,
                transfers: 0,
            })),
        }
    }

    /// The books. A transfer checks everything before its two writes, neither of which can
    /// panic, so a lock poisoned elsewhere still guards consistent books and is taken anyway.
    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `POST /transfers` takes.
#[derive(Debug, Deserialize)]
struct TransferRequest {
    from: String,
    to: String,
    amount_cents: u64,
}

/// One account as `GET /accounts` lists it.
#[derive(Debug, Serialize)]
struct AccountView {
    id: String,
    balance_cents: u64,
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn list_accounts(State(ledger): State<Ledger>, who: Verified) -> Json<Value> {
    let accounts: Vec<AccountView> = ledger
        .books()
        .balances
        .iter()
        .map(|(id, cents)| AccountView {
            id: id.clone(),
            balance_cents: *cents,
        })
        .collect();
    Json(json!({ "reader": who.sub, "accounts": accounts }))
}

/// Moves money between two accounts. Reached only with a fresh `aal2` token of a writer; the
/// answer names who did it and how they authenticated, as an audit record would.
async fn transfer(
    State(ledger): State<Ledger>,
    who: Verified,
    Json(request): Json<TransferRequest>,
) -> Result<(StatusCode, Json<Value>), LedgerError> {
    if request.amount_cents == 0 {
        return Err(LedgerError::ZeroAmount);
    }
    if request.from == request.to {
        return Err(LedgerError::SameAccount);
    }
    let mut books = ledger.books();
    let from = *books
        .balances
        .get(&request.from)
        .ok_or(LedgerError::UnknownAccount)?;
    let to = *books
        .balances
        .get(&request.to)
        .ok_or(LedgerError::UnknownAccount)?;
    let from = from
        .checked_sub(request.amount_cents)
        .ok_or(LedgerError::InsufficientFunds)?;
    // Money is only moved, never created, so the total (and thus `to`) cannot overflow.
    let to = to.saturating_add(request.amount_cents);
    books.balances.insert(request.from.clone(), from);
    books.balances.insert(request.to.clone(), to);
    books.transfers += 1;
    let body = json!({
        "id": format!("tr_{}", books.transfers),
        "from": { "id": request.from, "balance_cents": from },
        "to": { "id": request.to, "balance_cents": to },
        "amount_cents": request.amount_cents,
        "by": who.sub,
        "acr": who.acr,
        "amr": who.amr,
        "auth_time": who.auth_time,
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Why the ledger refused a transfer the guard admitted.
#[derive(Debug)]
enum LedgerError {
    ZeroAmount,
    SameAccount,
    UnknownAccount,
    InsufficientFunds,
}

impl IntoResponse for LedgerError {
    /// An RFC 9457 problem, like the guard's own refusals.
    fn into_response(self) -> Response {
        let (status, slug, detail) = match self {
            Self::ZeroAmount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-amount",
                "the amount must be positive",
            ),
            Self::SameAccount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "same-account",
                "a transfer needs two different accounts",
            ),
            Self::UnknownAccount => (StatusCode::NOT_FOUND, "unknown-account", "no such account"),
            Self::InsufficientFunds => (
                StatusCode::CONFLICT,
                "insufficient-funds",
                "the source account cannot cover the amount",
            ),
        };
        let body = json!({
            "type": format!("https://ledger.example/problems/{slug}"),
            "title": detail,
            "status": status.as_u16(),
        });
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}
