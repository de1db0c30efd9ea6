//! A tiny accounts-ledger API protected by Portcullis.
//!
//! - `GET /health` is public;
//! - `GET /accounts` needs any valid token with the `client` role;
//! - `POST /transfers` is sensitive: it also needs `acr` `aal2` from an authentication at most
//!   five minutes old, and otherwise answers 401 with an RFC 9470 challenge telling the client
//!   to step up at Portcullis and retry.
//!
//! Run it next to a Portcullis server:
//!
//! ```text
//! PORTCULLIS_ISSUER=http://127.0.0.1:8080 \
//! LEDGER_AUDIENCE=ledger \
//! cargo run -p portcullis-guard --example protected_service
//! ```

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::{Json, Router};
use portcullis_guard::{Guard, GuardConfig, GuardLayer, Requirement, Verified};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer =
        std::env::var("PORTCULLIS_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let audience = std::env::var("LEDGER_AUDIENCE").unwrap_or_else(|_| "ledger".to_owned());
    let jwks_url = format!("{issuer}/.well-known/jwks.json");
    let guard = Guard::new(GuardConfig::new(issuer, audience, jwks_url))?;

    // Fetch the keys up front (a failure is not fatal: the guard retries on first use), and
    // keep them fresh in the background.
    if let Err(err) = guard.jwks().refresh().await {
        eprintln!("JWKS not reachable yet: {err}");
    }
    let _refresher = guard.jwks().spawn_periodic_refresh();

    let app = router(&guard);
    let addr: SocketAddr = std::env::var("LEDGER_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("ledger listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn router(guard: &Guard) -> Router {
    let accounts = Router::new()
        .route("/accounts", get(list_accounts))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated().role("client"),
        ));
    let transfers = Router::new()
        .route("/transfers", post(transfer))
        .route_layer(GuardLayer::new(
            guard.clone(),
            Requirement::authenticated()
                .role("client")
                .acr("aal2")
                .max_age(300),
        ));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(accounts)
        .merge(transfers)
}

async fn list_accounts(who: Verified) -> Json<Value> {
    Json(json!({ "owner": who.sub, "accounts": [{ "id": "acc_1", "balance": "120.00" }] }))
}

async fn transfer(who: Verified) -> Json<Value> {
    Json(json!({ "status": "accepted", "by": who.sub, "acr": who.acr, "amr": who.amr }))
}
