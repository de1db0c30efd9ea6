//! The node's three ledgers (`auth`, `req`, `audit`), opened beside the main database.
//!
//! On SQLite each is a file of its own in the data directory (`ledger-<name>.db`); on
//! PostgreSQL each is a schema of its own in the same database, reached through a role of its
//! own (see `portcullis_ledger`'s storage). Each signs with its own key file in the data
//! directory (`ledger-<name>.key`), named by its origin `<public host>/ledger/<name>`.

use std::sync::Arc;

use anyhow::Context as _;
use portcullis_ledger::{Ledger, LedgerName, Location, TokenLedger, keys};
use secrecy::ExposeSecret as _;

use crate::clock::Clock;
use crate::config::Config;

/// The ledgers of a node.
#[derive(Clone, Debug)]
pub struct Ledgers {
    /// AuthNFT lifecycle.
    pub auth: TokenLedger,
    /// ReqNFT lifecycle.
    pub req: TokenLedger,
    /// The audit ledger.
    pub audit: Ledger,
}

impl Ledgers {
    /// The ledger called `name`.
    pub fn get(&self, name: LedgerName) -> &Ledger {
        match name {
            LedgerName::Auth => self.auth.ledger(),
            LedgerName::Req => self.req.ledger(),
            LedgerName::Audit => &self.audit,
        }
    }
}

/// Where `config`'s ledgers live: beside the main database, on the same backend.
pub fn location(config: &Config) -> Location {
    let url = config.database_url();
    let url = url.expose_secret();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Location::Postgres(url.to_owned())
    } else {
        Location::Sqlite(config.data_dir.clone())
    }
}

/// The host part of the public URL, the start of every ledger's origin.
pub fn origin_host(config: &Config) -> String {
    let public = config.public_url();
    public
        .split_once("://")
        .map_or(public.as_str(), |(_, rest)| rest)
        .to_owned()
}

/// Opens `name`, making its key on first use.
///
/// # Errors
/// Unreadable key file, unreachable storage.
pub async fn open_one(
    config: &Config,
    name: LedgerName,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Ledger> {
    let signer = keys::load_or_create(
        &config.data_dir,
        name,
        &keys::origin(&origin_host(config), name),
    )
    .with_context(|| format!("the {name} ledger's key"))?;
    Ledger::open(
        name,
        &location(config),
        signer,
        Arc::new(move || clock.now()),
    )
    .await
    .with_context(|| format!("the {name} ledger"))
}

/// Opens the three ledgers.
///
/// # Errors
/// As [`open_one`].
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Ledgers> {
    Ok(Ledgers {
        auth: TokenLedger::new(open_one(config, LedgerName::Auth, clock.clone()).await?)?,
        req: TokenLedger::new(open_one(config, LedgerName::Req, clock.clone()).await?)?,
        audit: open_one(config, LedgerName::Audit, clock).await?,
    })
}
