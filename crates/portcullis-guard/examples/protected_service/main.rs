//! The `protected_service` example: an accounts ledger (see `ledger.rs`) that accepts
//! Portcullis access tokens through `portcullis-guard`. This file only wires it up: it reads
//! the environment, builds the [`Guard`], optionally follows the revocation feed, and serves.
//!
//! Run it next to a local Portcullis (from the workspace root):
//!
//! ```text
//! # 1. Portcullis, issuing tokens addressed to the ledger
//! PORTCULLIS_AUDIENCE=ledger cargo run --release -- serve
//!
//! # 2. A user who may read balances and move money
//! PORTCULLIS_USER_PASSWORD='correct horse battery staple' cargo run --release -- \
//!     user add --email ada@example.com --role ledger-reader --role ledger-writer
//!
//! # 3. The ledger, on 127.0.0.1:3000
//! cargo run -p portcullis-guard --example protected_service
//! ```
//!
//! Then log in at Portcullis (`POST /v1/sessions`) and call the ledger with the access token:
//! `GET /accounts` answers at once; `POST /transfers` with
//! `{"from":"reserve","to":"payroll","amount_cents":5000}` answers 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="aal2",
//! max_age=300` until the session has proven a second factor in the last five minutes: enrol
//! one (`POST /v1/me/factors/totp`, then `…/confirm`), step up
//! (`POST /v1/sessions/current/step-up`, then `…/step-up/{id}` with a code) and retry with the
//! access token that returns.
//!
//! Settings (prefixed `LEDGER_`, because Portcullis refuses `PORTCULLIS_*` variables it does
//! not know, and both may share a shell):
//!
//! - `LEDGER_PORTCULLIS_URL`: Portcullis's public URL, the tokens' `iss` and where the key set
//!   is fetched from (default `http://127.0.0.1:8080`);
//! - `LEDGER_AUDIENCE`: the `aud` to accept, Portcullis's `audience` (default `ledger`);
//! - `LEDGER_ADDR`: where to listen (default `127.0.0.1:3000`);
//! - `LEDGER_FEED_CLIENT_ID` and `LEDGER_FEED_CLIENT_SECRET`: optional; a Portcullis service
//!   account allowed the scope `portcullis:revocations`
//!   (`portcullis client add --name ledger --scope portcullis:revocations`). With it the ledger
//!   polls `GET /v1/revocations` every second, so a logout at Portcullis is refused here at
//!   once rather than when the token expires; the guard obtains and renews the account's
//!   token with the client-credentials grant.
//! - `LEDGER_WEBHOOK_SECRET`: optional; the secret of a Portcullis webhook subscription to
//!   `http://<LEDGER_ADDR>/webhooks/portcullis`
//!   (`portcullis webhook add --url http://127.0.0.1:3000/webhooks/portcullis`). With it the
//!   ledger creates its local account as soon as someone registers at Portcullis (verifying
//!   each delivery's signature and timestamp; see `local_accounts.rs`) and lists them at
//!   `GET /local-accounts`.

mod ledger;
mod local_accounts;

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_guard::{FeedAuth, Guard, GuardConfig};

/// The `aud` accepted when `LEDGER_AUDIENCE` is unset.
const DEFAULT_AUDIENCE: &str = "ledger";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let portcullis = setting("LEDGER_PORTCULLIS_URL", "http://127.0.0.1:8080");
    let portcullis = portcullis.trim_end_matches('/');
    let audience = setting("LEDGER_AUDIENCE", DEFAULT_AUDIENCE);
    let addr: SocketAddr = setting("LEDGER_ADDR", "127.0.0.1:3000").parse()?;
    let guard = Guard::new(GuardConfig::new(
        portcullis,
        audience,
        format!("{portcullis}/.well-known/jwks.json"),
    ))?;

    // Fetch the keys up front (a failure is not fatal: the guard fetches them on first use),
    // and keep them fresh in the background so a key rotation at Portcullis is picked up.
    if let Err(err) = guard.jwks().refresh().await {
        eprintln!("Portcullis's key set is not reachable yet: {err}");
    }
    let _refresher = guard.jwks().spawn_periodic_refresh();
    let feed_account = (
        std::env::var("LEDGER_FEED_CLIENT_ID"),
        std::env::var("LEDGER_FEED_CLIENT_SECRET"),
    );
    let _feed = match feed_account {
        (Ok(client_id), Ok(client_secret)) => Some(guard.spawn_revocation_feed(
            format!("{portcullis}/v1/revocations"),
            FeedAuth::client_credentials(
                format!("{portcullis}/v1/oauth/token"),
                client_id,
                client_secret,
            ),
            Duration::from_secs(1),
        )),
        _ => None,
    };

    let mut app = ledger::router(&guard, ledger::Ledger::demo());
    if let Ok(secret) = std::env::var("LEDGER_WEBHOOK_SECRET") {
        let subscriber =
            local_accounts::Subscriber::new(&secret, unix_now).map_err(anyhow::Error::msg)?;
        app = app.merge(local_accounts::router(subscriber));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "ledger on http://{}: GET /health (public), GET /accounts (role {}), POST /transfers \
         (role {}, acr {}, authenticated within {} s)",
        listener.local_addr()?,
        ledger::READER_ROLE,
        ledger::WRITER_ROLE,
        ledger::TRANSFER_ACR,
        ledger::TRANSFER_MAX_AGE_SECS,
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// The environment variable `name`, or `default` when it is unset or empty.
fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
