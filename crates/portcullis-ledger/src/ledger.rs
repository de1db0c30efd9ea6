//! [`Ledger`]: one open ledger — its storage, its key, its writer — and the reads anyone may
//! make of it: the signed head, proofs, entries.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::LedgerError;
use crate::entry::{Encoded, Payload};
use crate::merkle::{self, Frontier, Hash};
use crate::name::LedgerName;
use crate::note::{NoteSigner, NoteVerifier};
use crate::storage::{HeadRow, Storage, StoredCheckpoint};
use crate::writer::{self, Clock, QUEUE, Receipt, Request, Writer};

/// Where a node's ledgers live.
#[derive(Clone, Debug)]
pub enum Location {
    /// One SQLite file per ledger in this directory (`ledger-<name>.db`).
    Sqlite(PathBuf),
    /// One schema and role per ledger in the PostgreSQL database at this URL.
    Postgres(String),
}

/// An inclusion proof: leaf `index` is in the tree of `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The tree's size.
    pub size: u64,
    /// The leaf's hash.
    pub leaf: Hash,
    /// The audit path, deepest sibling first (RFC 9162).
    pub path: Vec<Hash>,
}

/// An open ledger. Cheap to clone; every clone appends through the same writer.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    name: LedgerName,
    storage: Storage,
    verifier: NoteVerifier,
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("name", &self.inner.name)
            .field("origin", &self.inner.verifier.name())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens `name` at `location`, signing with `signer` (whose name is the origin), and
    /// starts its writer on the current Tokio runtime. An empty ledger gets a signed head of
    /// size 0.
    ///
    /// # Errors
    /// Storage, migration or key failures.
    pub async fn open(
        name: LedgerName,
        location: &Location,
        signer: NoteSigner,
        clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Result<Self, LedgerError> {
        let storage = Storage::open(name, location).await?;
        let empty = writer::sign_head(&signer, &Frontier::new(), clock())?;
        storage
            .init_head(&empty.root, &empty.checkpoint, empty.at)
            .await?;
        let verifier = signer.verifier();
        let (requests, receiver) = mpsc::channel(QUEUE);
        let writer = Writer {
            name,
            storage: storage.clone(),
            signer,
            clock: clock as Clock,
            frontier: None,
            requests: receiver,
        };
        tokio::spawn(writer.run());
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                storage,
                verifier,
                requests,
            }),
        })
    }

    /// Opens `name` for reading only (the CLI's verification): no writer, no head is written.
    ///
    /// # Errors
    /// Storage or migration failures.
    pub async fn open_read_only(
        name: LedgerName,
        location: &Location,
        verifier: NoteVerifier,
    ) -> Result<Self, LedgerError> {
        let storage = Storage::open(name, location).await?;
        // A sender whose receiver is gone: appends answer Closed.
        let (requests, _) = mpsc::channel(1);
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                storage,
                verifier,
                requests,
            }),
        })
    }

    /// Which ledger this is.
    pub fn name(&self) -> LedgerName {
        self.inner.name
    }

    /// The key its checkpoints are signed with; its name is the ledger's origin.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.inner.verifier
    }

    /// The storage backend's name.
    pub fn backend(&self) -> &'static str {
        self.inner.storage.label()
    }

    /// Appends `payload`, answering once it is durable.
    pub(crate) async fn append(&self, at: i64, payload: Payload) -> Result<Receipt, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request { at, payload, reply })
            .await
            .map_err(|_| LedgerError::Closed)?;
        answer.await.map_err(|_| LedgerError::Closed)?
    }

    /// The latest signed head.
    ///
    /// # Errors
    /// Storage failures; [`LedgerError::Corrupt`] if the head row is gone.
    pub async fn head(&self) -> Result<HeadRow, LedgerError> {
        self.inner
            .storage
            .head()
            .await?
            .ok_or_else(|| LedgerError::Corrupt("the head row is missing".into()))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (at most the head's).
    ///
    /// # Errors
    /// [`LedgerError::Proof`] when the index or size is out of range.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, LedgerError> {
        self.within_head(size).await?;
        let plan = merkle::inclusion_plan(index, size)?;
        let mut ids = plan.nodes();
        let leaf_id = merkle::NodeId { level: 0, index };
        ids.push(leaf_id);
        let nodes = self.inner.storage.nodes(&ids).await?;
        let leaf = *nodes
            .get(&leaf_id)
            .ok_or(merkle::ProofError::MissingNode(leaf_id))?;
        Ok(InclusionProof {
            index,
            size,
            leaf,
            path: plan.assemble(&nodes)?,
        })
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    ///
    /// # Errors
    /// [`LedgerError::Proof`] when the sizes are out of range.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        self.within_head(new).await?;
        let plan = merkle::consistency_plan(old, new)?;
        let nodes = self.inner.storage.nodes(&plan.nodes()).await?;
        Ok(plan.assemble(&nodes)?)
    }

    /// The root of the tree of `size` leaves (at most the head's).
    ///
    /// # Errors
    /// [`LedgerError::Proof`] when the size is out of range.
    pub async fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        self.within_head(size).await?;
        let nodes = self.inner.storage.nodes(&merkle::root_plan(size)).await?;
        Ok(merkle::root_from(size, &nodes)?)
    }

    async fn within_head(&self, size: u64) -> Result<(), LedgerError> {
        if size > self.head().await?.size {
            return Err(merkle::ProofError::Range("the ledger is not that large yet").into());
        }
        Ok(())
    }

    /// Stored entries from leaf `from` on, at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn entries(&self, from: u64, limit: i64) -> Result<Vec<Encoded>, LedgerError> {
        self.inner.storage.entries(from, limit).await
    }

    /// Kept checkpoints larger than `after`, at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn checkpoints(
        &self,
        after: u64,
        limit: i64,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        self.inner.storage.checkpoints(after, limit).await
    }

    pub(crate) fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Runs `statement` on this ledger's own connection: how a test shows that the
    /// database refuses one ledger's credentials on another ledger's tables.
    #[doc(hidden)]
    pub async fn execute_as_this_ledger(&self, statement: &str) -> Result<u64, LedgerError> {
        self.inner.storage.execute_raw(statement).await
    }

    /// Checks the storage answers.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        self.inner.storage.ping().await
    }

    /// Closes the pool (after the writer's senders are gone).
    pub async fn close(&self) {
        self.inner.storage.close().await;
    }
}

/// The directory of a SQLite location, if it is one.
pub fn sqlite_dir(location: &Location) -> Option<&Path> {
    match location {
        Location::Sqlite(dir) => Some(dir),
        Location::Postgres(_) => None,
    }
}
