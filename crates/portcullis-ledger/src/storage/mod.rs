//! Where a ledger keeps its entries: its own SQLite file, or its own PostgreSQL schema reached
//! through its own role.
//!
//! Isolation is a property of the connection, not of the code's good manners: a ledger's
//! pool can only reach its own file, and on PostgreSQL its sessions run as the ledger's role
//! (`SET ROLE`), which owns its schema and has no privilege on any other ledger's schema or on
//! the main tables. So the code path that writes `req` cannot write `auth`, and a test shows
//! the database refusing it.

mod sql;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::LedgerError;
use crate::entry::Encoded;
use crate::lifecycle::TokenState;
use crate::merkle::{Hash, NodeId};
use crate::name::LedgerName;

/// The signed head as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadRow {
    /// Entries in the tree.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// The signed checkpoint (a C2SP signed note).
    pub checkpoint: String,
    /// When it was signed, unix seconds.
    pub at: i64,
}

/// A checkpoint kept in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Entries in the tree.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// When it was signed.
    pub at: i64,
}

/// A ledger's connection pool.
#[derive(Clone, Debug)]
pub(crate) enum Storage {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on a ledger's storage.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `sql::<db>::$f(conn, args…)` on a connection of the pool.
macro_rules! on_pool {
    ($storage:expr, $f:ident($($arg:expr),*)) => {
        match $storage {
            Storage::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sql::sqlite::$f(&mut conn, $($arg),*).await
            }
            Storage::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sql::postgres::$f(&mut conn, $($arg),*).await
            }
        }
    };
}

/// Runs `sql::<db>::$f(conn, args…)` inside the transaction.
macro_rules! in_tx {
    ($tx:expr, $f:ident($($arg:expr),*)) => {
        match $tx {
            Tx::Sqlite(tx) => sql::sqlite::$f(tx, $($arg),*).await,
            Tx::Postgres(tx) => sql::postgres::$f(tx, $($arg),*).await,
        }
    };
}

/// The file name of `name`'s SQLite database in the data directory.
pub fn sqlite_file(name: LedgerName) -> String {
    format!("ledger-{name}.db")
}

/// The PostgreSQL schema of `name`.
pub fn pg_schema(name: LedgerName) -> String {
    format!("ledger_{name}")
}

/// The PostgreSQL role `name`'s sessions run as.
pub fn pg_role(name: LedgerName) -> String {
    format!("portcullis_ledger_{name}")
}

impl Storage {
    /// Opens `name`'s storage at `location`: its file in the directory, or its schema.
    pub(crate) async fn open(
        name: LedgerName,
        location: &crate::ledger::Location,
    ) -> Result<Self, LedgerError> {
        match location {
            crate::ledger::Location::Sqlite(dir) => {
                Self::open_sqlite(&dir.join(sqlite_file(name))).await
            }
            crate::ledger::Location::Postgres(url) => Self::open_postgres(url, name).await,
        }
    }

    /// Opens (creating, owner-only) the SQLite file at `path` and applies the migrations.
    ///
    /// Commits are fully synchronous: an entry is acknowledged only once the WAL holds it on
    /// disk, which the main database (synchronous = NORMAL) does not promise.
    pub(crate) async fn open_sqlite(path: &Path) -> Result<Self, LedgerError> {
        create_private(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // 16 MiB of page cache per connection (the default is 2 MiB): the upper levels
            // of the entry, node and token trees stay in memory, so a commit reads them
            // from the cache, not through the kernel.
            .pragma("cache_size", "-16384")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Storage::Sqlite(pool))
    }

    /// Connects to PostgreSQL at `url`, makes `name`'s role and schema if they are missing,
    /// and opens a pool whose sessions run as that role with only that schema on their path.
    ///
    /// The user of `url` needs the right to create roles the first time (or an administrator
    /// creates `portcullis_ledger_<name>` and the schema `ledger_<name>` it owns, and grants
    /// the role to that user).
    pub(crate) async fn open_postgres(url: &str, name: LedgerName) -> Result<Self, LedgerError> {
        let options = PgConnectOptions::from_str(url)?;
        let (role, schema) = (pg_role(name), pg_schema(name));
        {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            // The names come from LedgerName, never from input. Two nodes starting at once
            // may both try to create them: the loser's error is the winner's success.
            let setup = format!(
                "DO $$ BEGIN \
                   CREATE ROLE {role} NOLOGIN; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
                 GRANT {role} TO CURRENT_USER; \
                 DO $$ BEGIN \
                   CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}; \
                 EXCEPTION WHEN duplicate_schema OR unique_violation THEN NULL; END $$; \
                 REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;"
            );
            sqlx::raw_sql(AssertSqlSafe(setup)).execute(&admin).await?;
            admin.close().await;
        }
        let after = format!("SET ROLE {role}; SET search_path TO {schema}");
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _| {
                let after = after.clone();
                Box::pin(async move {
                    sqlx::raw_sql(AssertSqlSafe(after))
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Storage::Postgres(pool))
    }

    /// The backend's name.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Storage::Sqlite(_) => "sqlite",
            Storage::Postgres(_) => "postgres",
        }
    }

    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, LedgerError> {
        Ok(match self {
            Storage::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Storage::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub(crate) async fn head(&self) -> Result<Option<HeadRow>, LedgerError> {
        on_pool!(self, head())
    }

    pub(crate) async fn init_head(
        &self,
        root: &Hash,
        checkpoint: &str,
        at: i64,
    ) -> Result<(), LedgerError> {
        on_pool!(self, init_head(root, checkpoint, at))
    }

    pub(crate) async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, LedgerError> {
        on_pool!(self, nodes(ids))
    }

    pub(crate) async fn node_range(
        &self,
        level: u8,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Hash)>, LedgerError> {
        on_pool!(self, node_range(level, from, to))
    }

    pub(crate) async fn entries(&self, from: u64, limit: i64) -> Result<Vec<Encoded>, LedgerError> {
        on_pool!(self, entries(from, limit))
    }

    pub(crate) async fn by_actor(
        &self,
        actor: &str,
        limit: i64,
    ) -> Result<Vec<Encoded>, LedgerError> {
        on_pool!(self, by_actor(actor, limit))
    }

    pub(crate) async fn checkpoints(
        &self,
        after: u64,
        limit: i64,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        on_pool!(self, checkpoints(after, limit))
    }

    pub(crate) async fn token_states(
        &self,
        tokens: &[&str],
    ) -> Result<HashMap<String, TokenState>, LedgerError> {
        on_pool!(self, token_states(tokens))
    }

    pub(crate) async fn ping(&self) -> Result<(), LedgerError> {
        on_pool!(self, ping())
    }

    /// Runs a statement of the caller's on this ledger's connection (tests of isolation).
    #[doc(hidden)]
    pub(crate) async fn execute_raw(&self, statement: &str) -> Result<u64, LedgerError> {
        Ok(match self {
            Storage::Sqlite(pool) => sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
                .execute(pool)
                .await?
                .rows_affected(),
            Storage::Postgres(pool) => sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        match self {
            Storage::Sqlite(pool) => pool.close().await,
            Storage::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub(crate) async fn lock_head(&mut self) -> Result<u64, LedgerError> {
        in_tx!(self, lock_head())
    }

    pub(crate) async fn nodes(
        &mut self,
        ids: &[NodeId],
    ) -> Result<HashMap<NodeId, Hash>, LedgerError> {
        in_tx!(self, nodes(ids))
    }

    pub(crate) async fn token_states(
        &mut self,
        tokens: &[&str],
    ) -> Result<HashMap<String, TokenState>, LedgerError> {
        in_tx!(self, token_states(tokens))
    }

    pub(crate) async fn insert_entries(&mut self, entries: &[Encoded]) -> Result<(), LedgerError> {
        in_tx!(self, insert_entries(entries))
    }

    pub(crate) async fn insert_nodes(
        &mut self,
        nodes: &[(NodeId, Hash)],
    ) -> Result<(), LedgerError> {
        in_tx!(self, insert_nodes(nodes))
    }

    pub(crate) async fn upsert_tokens(
        &mut self,
        tokens: &[(String, TokenState, u64)],
    ) -> Result<(), LedgerError> {
        in_tx!(self, upsert_tokens(tokens))
    }

    pub(crate) async fn set_head(&mut self, head: &HeadRow) -> Result<(), LedgerError> {
        in_tx!(self, set_head(head))
    }

    pub(crate) async fn keep_checkpoint(&mut self, head: &HeadRow) -> Result<(), LedgerError> {
        in_tx!(self, keep_checkpoint(head))
    }

    pub(crate) async fn last_kept_at(&mut self) -> Result<Option<i64>, LedgerError> {
        in_tx!(self, last_kept_at())
    }

    /// Makes the transaction durable; the entries are acknowledged only after this returns.
    pub(crate) async fn commit(self) -> Result<(), LedgerError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Creates `path` readable and writable by its owner only, if it does not exist, before
/// SQLite opens it (SQLite would create it with the umask's mode).
fn create_private(path: &Path) -> Result<(), LedgerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|e| LedgerError::Io(format!("{}: {e}", path.display())))
}
