//! PostgreSQL, for production and every multi-node set-up.

use sqlx::Postgres;
use sqlx::postgres::{PgPoolOptions, PgQueryResult};
use std::time::Duration;

use super::{Dialect, SqlStore};
use crate::error::StoreError;

impl Dialect for Postgres {
    const LABEL: &'static str = "postgres";

    const TRANSACTION_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// Connects to the PostgreSQL database at `url`.
pub(crate) async fn connect(url: &str) -> Result<SqlStore<Postgres>, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    Ok(SqlStore::new(pool))
}

/// Applies pending migrations from `migrations/postgres`.
pub(crate) async fn migrate(store: &SqlStore<Postgres>) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations/postgres")
        .run(&store.pool)
        .await?;
    Ok(())
}
