//! Storage errors. A failed query is never turned into "absent": look-ups return
//! `Result<Option<T>, StoreError>`.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (e.g. an e-mail already registered).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A concurrent writer changed the record first; the caller may retry from a fresh read.
    #[error("the record was changed concurrently")]
    Concurrent,
    /// A stored value could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(sqlx::Error),
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
