//! The node's three ledgers (`auth`, `req`, `audit`), opened beside the main database.
//!
//! On SQLite each is a file of its own in the data directory (`ledger-<name>.db`); on
//! PostgreSQL each is a schema of its own in the same database, reached through a role of its
//! own (see `portcullis_ledger`'s storage). Each signs with its own key file in the data
//! directory (`ledger-<name>.key`), named by its origin `<public host>/ledger/<name>`.

use std::sync::Arc;

use anyhow::Context as _;
use portcullis_ledger::{AuditLedger, Ledger, LedgerName, Location, TokenLedger, keys};
use portcullis_store::Store;
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
    /// The audit log.
    pub audit: AuditLedger,
}

impl Ledgers {
    /// The ledger called `name`.
    pub fn get(&self, name: LedgerName) -> &Ledger {
        match name {
            LedgerName::Auth => self.auth.ledger(),
            LedgerName::Req => self.req.ledger(),
            LedgerName::Audit => self.audit.ledger(),
        }
    }
}

impl Ledgers {
    /// Closes the three ledgers' connections (the node is stopping).
    pub async fn close(&self) {
        for name in LedgerName::ALL {
            self.get(name).close().await;
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

/// Opens the audit ledger, and moves the main database's old hash-chained audit log onto it
/// if it still holds entries (once; a crash midway resumes).
///
/// # Errors
/// As [`open_one`]; an old audit log whose chain is broken is refused, not carried over.
pub async fn open_audit(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AuditLedger> {
    let now = clock.now();
    let audit = AuditLedger::new(open_one(config, LedgerName::Audit, clock).await?)?;
    let moved = audit
        .migrate_legacy(store.legacy_audit.as_ref(), now)
        .await
        .context("moving the audit log onto the audit ledger")?;
    if moved > 0 {
        tracing::info!(
            entries = moved,
            "moved the old audit log onto the audit ledger"
        );
    }
    Ok(audit)
}

/// Opens the three ledgers (see [`open_audit`] for the audit log's move).
///
/// # Errors
/// As [`open_one`] and [`open_audit`].
pub async fn open(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Ledgers> {
    Ok(Ledgers {
        audit: open_audit(config, store, clock.clone()).await?,
        auth: TokenLedger::new(open_one(config, LedgerName::Auth, clock.clone()).await?)?,
        req: TokenLedger::new(open_one(config, LedgerName::Req, clock).await?)?,
    })
}
