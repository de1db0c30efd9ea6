//! What a ledger operation can fail with.

use crate::checkpoint::CheckpointError;
use crate::lifecycle::LifecycleError;
use crate::merkle::ProofError;
use crate::note::NoteError;

/// A ledger refused an operation or could not carry it out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The operation breaks a lifecycle rule; nothing was appended.
    #[error("refused: {0}")]
    Refused(#[from] LifecycleError),
    /// An entry of the wrong kind for this ledger (an audit event on a token ledger).
    #[error("this ledger does not take that kind of entry")]
    WrongKind,
    /// A proof was asked for sizes or an index the ledger does not have.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The batch holding the operation was not committed; nothing of it was appended.
    #[error("the ledger could not commit: {0}")]
    Commit(String),
    /// The writer has stopped (the server is shutting down).
    #[error("the ledger is closed")]
    Closed,
    /// The database failed.
    #[error("ledger storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// The ledger's migrations failed.
    #[error("ledger migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data is not what the ledger wrote.
    #[error("the ledger's storage is corrupt: {0}")]
    Corrupt(String),
    /// The signing key could not be read, made or used.
    #[error("ledger key: {0}")]
    Key(String),
    /// The chain holding the ledger (feature `evm`) refused a write, could not be reached,
    /// or did not answer in time; for a write in doubt the index catches up later.
    #[error("ledger chain: {0}")]
    Chain(String),
    /// A file could not be created or read.
    #[error("ledger file: {0}")]
    Io(String),
}

impl From<NoteError> for LedgerError {
    fn from(e: NoteError) -> Self {
        LedgerError::Key(e.to_string())
    }
}

impl From<CheckpointError> for LedgerError {
    fn from(e: CheckpointError) -> Self {
        LedgerError::Key(e.to_string())
    }
}
