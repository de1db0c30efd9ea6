//! Storage errors. A failed query is never turned into "absent": look-ups return
//! `Result<Option<T>, StoreError>`.
//!
//! Each variant that wraps a lower error keeps it as its [`source`](std::error::Error::source),
//! so a caller can walk the chain or downcast to the sqlx or serde error. The message repeats
//! the cause too, because most log lines in the server are written with `%error` (the message
//! alone): an operator reading "database error: pool timed out" needs no chain walker.

/// What went wrong in the store.
///
/// `#[non_exhaustive]`: callers match the variants they act on (`Conflict`, `Concurrent`) and
/// treat the rest as internal failures, so a new failure mode is not a breaking change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness constraint refused the write (e.g. an e-mail already registered).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A concurrent writer changed the record first; the caller may retry from a fresh read.
    #[error("the record was changed concurrently")]
    Concurrent,
    /// A stored value breaks an invariant of its column (a digest of the wrong length, an
    /// unknown status).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A stored value could not be parsed (an id, a JSON column).
    #[error("corrupt record: bad {what}: {source}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// Why it could not be parsed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value could not be encoded for storage.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being written.
        what: &'static str,
        /// Why it could not be encoded.
        #[source]
        source: serde_json::Error,
    },
    /// The database URL names no supported backend.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure (connection, query, constraint other than uniqueness).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    /// A value read back from the database that its parser refused.
    pub(crate) fn decode(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Decode {
            what,
            source: source.into(),
        }
    }

    /// A value that could not be written as JSON.
    pub(crate) fn encode(what: &'static str, source: serde_json::Error) -> Self {
        StoreError::Encode { what, source }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict("unique constraint");
        }
        StoreError::Database(e)
    }
}
