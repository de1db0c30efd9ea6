//! The embedded default: SQLite in WAL mode, in the data directory.

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

use super::{Dialect, SqlStore};
use crate::error::StoreError;

impl Dialect for Sqlite {
    const LABEL: &'static str = "sqlite";

    const TRANSACTION_LOCK: Option<&'static str> = None;

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// Opens (creating if needed) the SQLite database at `url`.
///
/// Foreign keys are enforced on every connection: SQLite leaves them off by default, and the
/// cascades that remove an account's credentials when it is shredded depend on them.
pub(crate) async fn connect(url: &str) -> Result<SqlStore<Sqlite>, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    Ok(SqlStore::new(pool))
}

/// Applies pending migrations from `migrations/sqlite`.
pub(crate) async fn migrate(store: &SqlStore<Sqlite>) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations/sqlite")
        .run(&store.pool)
        .await?;
    Ok(())
}
