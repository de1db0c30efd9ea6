//! The node's three ledgers (`auth`, `req`, `audit`), opened beside the main database.
//!
//! On SQLite each is a file of its own in the data directory (`ledger-<name>.db`); on
//! PostgreSQL each is a schema of its own in the same database, reached through a role of its
//! own (see `portcullis_ledger`'s storage). Each signs with its own key file in the data
//! directory (`ledger-<name>.key`), named by its origin `<public host>/ledger/<name>`.
//!
//! The `auth` and `req` tokens are kept by a [`TokenBackend`]: the embedded ledger itself, or
//! with `[ledger] backend = "evm"` (feature `evm`) an ERC-721 contract on the chain, whose
//! local index lives in the same ledger's storage (see [`evm`]).

use std::sync::Arc;

use anyhow::Context as _;
use portcullis_ledger::{
    AuditLedger, Ledger, LedgerName, Location, TokenBackend, TokenLedger, keys,
};
use portcullis_store::Store;
use secrecy::ExposeSecret as _;

use crate::clock::Clock;
use crate::config::{Config, LedgerBackend};

/// The ledgers of a node.
#[derive(Clone, Debug)]
pub struct Ledgers {
    /// AuthNFT lifecycle (the embedded ledger, or the chain's contract).
    pub auth: Arc<dyn TokenBackend>,
    /// ReqNFT lifecycle.
    pub req: Arc<dyn TokenBackend>,
    /// The embedded `auth` ledger (its heads and proofs; empty with the evm backend).
    pub auth_ledger: TokenLedger,
    /// The embedded `req` ledger.
    pub req_ledger: TokenLedger,
    /// The audit log.
    pub audit: AuditLedger,
    /// The evm backend's followers, stopped when the ledgers close.
    followers: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Ledgers {
    /// The ledger called `name`.
    pub fn get(&self, name: LedgerName) -> &Ledger {
        match name {
            LedgerName::Auth => self.auth_ledger.ledger(),
            LedgerName::Req => self.req_ledger.ledger(),
            LedgerName::Audit => self.audit.ledger(),
        }
    }
}

impl Ledgers {
    /// Closes the three ledgers' connections (the node is stopping).
    pub async fn close(&self) {
        if let Ok(mut followers) = self.followers.lock() {
            for follower in followers.drain(..) {
                follower.abort();
            }
        }
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
    let audit = open_audit(config, store, clock.clone()).await?;
    let auth_ledger = TokenLedger::new(open_one(config, LedgerName::Auth, clock.clone()).await?)?;
    let req_ledger = TokenLedger::new(open_one(config, LedgerName::Req, clock).await?)?;
    let (auth, req, followers): (Arc<dyn TokenBackend>, Arc<dyn TokenBackend>, _) =
        match config.ledger.backend {
            LedgerBackend::Embedded => (
                Arc::new(auth_ledger.clone()),
                Arc::new(req_ledger.clone()),
                Vec::new(),
            ),
            LedgerBackend::Evm => open_evm(config, &auth_ledger, &req_ledger).await?,
        };
    Ok(Ledgers {
        auth,
        req,
        auth_ledger,
        req_ledger,
        audit,
        followers: Arc::new(std::sync::Mutex::new(followers)),
    })
}

type Backends = (
    Arc<dyn TokenBackend>,
    Arc<dyn TokenBackend>,
    Vec<tokio::task::JoinHandle<()>>,
);

#[cfg(feature = "evm")]
async fn open_evm(
    config: &Config,
    auth: &TokenLedger,
    req: &TokenLedger,
) -> anyhow::Result<Backends> {
    let (auth, req) = evm::open(config, auth, req).await?;
    let every = config.ledger.evm.follow_interval;
    let followers = vec![auth.spawn_follower(every), req.spawn_follower(every)];
    Ok((Arc::new(auth), Arc::new(req), followers))
}

#[cfg(not(feature = "evm"))]
async fn open_evm(_: &Config, _: &TokenLedger, _: &TokenLedger) -> anyhow::Result<Backends> {
    anyhow::bail!(
        "[ledger] backend = \"evm\" needs a portcullis built with the `evm` feature \
         (cargo build --features evm)"
    )
}

/// The evm backend: the contracts of `[ledger.evm]` on the chain of `[chain]`.
#[cfg(feature = "evm")]
pub mod evm {
    use anyhow::Context as _;
    use portcullis_ledger::evm::{EvmSettings, EvmTokenLedger, IssuerKey};
    use portcullis_ledger::{LedgerName, TokenLedger};

    use crate::config::Config;
    use crate::services::login::wallet::ISSUER;

    /// The issuer's key file.
    pub fn issuer_key_path(config: &Config) -> std::path::PathBuf {
        config.data_dir.join(&config.ledger.evm.issuer_key_file)
    }

    /// The chain of `[chain]`, checked to serve the configured chain id.
    ///
    /// # Errors
    /// No `[chain]`, an unreachable node, another chain.
    pub async fn chain(config: &Config) -> anyhow::Result<portcullis_chain::Chain> {
        let (rpc_url, chain_id) = config
            .chain
            .endpoint()
            .context("[ledger] backend = \"evm\" needs [chain] rpc_url and chain_id")?;
        let chain = portcullis_chain::Chain::connect(rpc_url, chain_id);
        chain.verify().await.context("the [chain] node")?;
        Ok(chain)
    }

    /// Opens the two contracts' ledgers over the embedded ledgers' storage (their index).
    ///
    /// # Errors
    /// As [`open_one`].
    pub async fn open(
        config: &Config,
        auth: &TokenLedger,
        req: &TokenLedger,
    ) -> anyhow::Result<(EvmTokenLedger, EvmTokenLedger)> {
        let chain = chain(config).await?;
        Ok((
            open_one(config, &chain, LedgerName::Auth, auth).await?,
            open_one(config, &chain, LedgerName::Req, req).await?,
        ))
    }

    /// Opens token ledger `name`'s contract over `ledger`'s storage (its index).
    ///
    /// # Errors
    /// A missing issuer key or contract address; an index that follows another contract;
    /// storage failures.
    pub async fn open_one(
        config: &Config,
        chain: &portcullis_chain::Chain,
        name: LedgerName,
        ledger: &TokenLedger,
    ) -> anyhow::Result<EvmTokenLedger> {
        let issuer = IssuerKey::load(&issuer_key_path(config))
            .context("the ledger issuer key (made by `portcullis ledger deploy`)")?;
        let evm = &config.ledger.evm;
        let (contract, key) = match name {
            LedgerName::Req => (&evm.req_contract, "req_contract"),
            _ => (&evm.auth_contract, "auth_contract"),
        };
        let contract = contract
            .as_deref()
            .with_context(|| format!("ledger.evm.{key} is missing"))?
            .parse()
            .with_context(|| format!("ledger.evm.{key} is not an address"))?;
        let settings = EvmSettings {
            chain: chain.clone(),
            contract,
            start_block: evm.start_block,
            issuer_name: ISSUER.to_owned(),
        };
        EvmTokenLedger::open(ledger.ledger(), settings, &issuer)
            .await
            .with_context(|| format!("the {name} ledger's contract"))
    }
}
