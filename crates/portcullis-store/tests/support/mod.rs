//! Harness for the conformance suite: a fresh database per test on either backend, raw
//! read access for the few facts the traits do not expose, and the
//! [`conformance!`](crate::conformance) macro that runs every check on both.
//!
//! SQLite lives in a temporary directory. PostgreSQL needs a server: `scripts/test` starts a
//! throw-away cluster and exports `PORTCULLIS_TEST_PG_URL`; each test creates its own
//! database there and drops it when the check passes (a failed check leaves it for a look).

use portcullis_store::Store;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

const PG_URL_VAR: &str = "PORTCULLIS_TEST_PG_URL";

/// One test's database.
pub struct TestDb {
    /// Every repository of the database, migrated.
    pub store: Store,
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The directory is removed when dropped.
    Sqlite(
        #[expect(
            dead_code,
            reason = "held only so the directory lives as long as the test"
        )]
        tempfile::TempDir,
    ),
    /// The database to drop, through the administrative URL.
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite database in its own temporary directory.
    pub async fn sqlite() -> Self {
        Self::sqlite_with(true).await
    }

    /// A new SQLite database, migrated or left empty (to test the migrations themselves).
    pub async fn sqlite_with(migrate: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/db.sqlite", dir.path().display());
        let store = portcullis_store::open(&url, migrate)
            .await
            .expect("open SQLite");
        Self {
            store,
            backend: "sqlite",
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new database on the PostgreSQL server named by `PORTCULLIS_TEST_PG_URL`.
    ///
    /// Fails (never skips) when the variable is unset.
    pub async fn postgres() -> Self {
        Self::postgres_with(true).await
    }

    /// A new PostgreSQL database, migrated or left empty (to test the migrations themselves).
    pub async fn postgres_with(migrate: bool) -> Self {
        let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
            panic!(
                "{PG_URL_VAR} is not set: the PostgreSQL conformance tests need a server. \
                 Run them through `scripts/test` (e.g. `scripts/test -p portcullis-store`), \
                 which starts a throw-away cluster and exports {PG_URL_VAR}."
            );
        };
        let name = format!("pc_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR} ({admin_url}): {e}"));
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await.expect("close admin connection");
        let url = with_database(&admin_url, &name);
        let store = portcullis_store::open(&url, migrate)
            .await
            .expect("open PostgreSQL");
        Self {
            store,
            backend: "postgres",
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` (any number of statements, no parameters) through a connection of its own.
    pub async fn raw_execute(&self, sql: String) {
        let sql = sqlx::raw_sql(AssertSqlSafe(sql));
        match self.cleanup {
            Cleanup::Sqlite(_) => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("raw SQLite connection");
                sql.execute(&mut c).await.expect("raw SQLite statements");
            }
            Cleanup::Postgres { .. } => {
                let mut c = PgConnection::connect(&self.url)
                    .await
                    .expect("raw PostgreSQL connection");
                sql.execute(&mut c)
                    .await
                    .expect("raw PostgreSQL statements");
            }
        }
    }

    /// Reads one byte-string column through a connection of its own, bypassing the
    /// repositories; `sql` takes a single `$1` text parameter.
    pub async fn raw_bytes(&self, sql: &'static str, param: &str) -> Option<Vec<u8>> {
        match self.cleanup {
            Cleanup::Sqlite(_) => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("raw SQLite connection");
                sqlx::query_scalar(sql)
                    .bind(param)
                    .fetch_optional(&mut c)
                    .await
                    .expect("raw SQLite query")
            }
            Cleanup::Postgres { .. } => {
                let mut c = PgConnection::connect(&self.url)
                    .await
                    .expect("raw PostgreSQL connection");
                sqlx::query_scalar(sql)
                    .bind(param)
                    .fetch_optional(&mut c)
                    .await
                    .expect("raw PostgreSQL query")
            }
        }
    }

    /// Releases the database: drops a PostgreSQL one (closing what still uses it).
    pub async fn finish(self) {
        let TestDb { store, cleanup, .. } = self;
        drop(store);
        if let Cleanup::Postgres { admin_url, name } = cleanup {
            let mut admin = PgConnection::connect(&admin_url)
                .await
                .expect("connect to drop the test database");
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .expect("DROP DATABASE");
            admin.close().await.expect("close admin connection");
        }
    }
}

/// `url` with its database name (the last path segment) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Generates one test per check and backend, `<backend>::<group>::<check>`, each on a fresh
/// database, calling `crate::<group>::<check>(store)`; a check marked `(with_db)` is called
/// as `check(store, &test_db)` instead (for the backend name or raw reads).
///
/// ```ignore
/// conformance! {
///     accounts: [create_get_and_find, shred],
///     outbox: [claims_and_retries, erases_payloads(with_db)],
/// }
/// ```
#[macro_export]
macro_rules! conformance {
    (@backend $backend:ident;
     $($group:ident: [$($check:ident $(($with:ident))?),* $(,)?]),* $(,)?) => {
        mod $backend {
            $(
                mod $group {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                        async fn $check() {
                            let db = $crate::support::TestDb::$backend().await;
                            $crate::conformance!(@call $crate::$group::$check, db $(, $with)?);
                            db.finish().await;
                        }
                    )*
                }
            )*
        }
    };
    (@call $check:path, $db:ident) => {
        $check($db.store.clone()).await
    };
    (@call $check:path, $db:ident, with_db) => {
        $check($db.store.clone(), &$db).await
    };
    ($($groups:tt)*) => {
        $crate::conformance!(@backend sqlite; $($groups)*);
        $crate::conformance!(@backend postgres; $($groups)*);
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/postgres", "pc_x"),
            "postgres://postgres@127.0.0.1:5432/pc_x"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h:1/db?sslmode=disable", "pc_x"),
            "postgres://u:p@h:1/pc_x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://h", "pc_x"),
            "postgres://h/pc_x"
        );
    }
}
