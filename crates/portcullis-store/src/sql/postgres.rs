//! PostgreSQL, for production and every multi-node set-up.

use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

use crate::error::StoreError;

/// Repositories over one PostgreSQL database.
pub(crate) struct PgStore {
    pub(crate) pool: sqlx::PgPool,
}

impl PgStore {
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

super::sql_backend!(PgStore, sqlx::Postgres, "postgres");
super::clients::client_backend!(PgStore, sqlx::Postgres);
super::pairs::pair_backend!(PgStore, sqlx::Postgres);
