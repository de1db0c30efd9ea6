//! The one place that knows how sqlx is driven generically, so the repositories can be
//! written once for both databases.
//!
//! sqlx's generic API needs bounds such as `String: Encode<'_, DB> + Type<DB>` or
//! `for<'c> &'c mut DB::Connection: Executor<'c>`. Rust does not carry bounds like these from a
//! trait to its users (only bounds on `Self` are implied), so a plain `impl<DB> SessionRepo
//! for SqlStore<DB>` would have to repeat a dozen of them on every impl. Instead [`Backend`]
//! offers the few operations the repositories use (run a statement, read a column) and is
//! implemented once, for every database that satisfies those bounds: SQLite and PostgreSQL.
//! A repository then needs only `DB: Backend`.
//!
//! A statement is a [`Sql`]: static text (never built from input, so nothing can inject SQL)
//! and its arguments as [`Value`]s, bound with the types the migrations chose (text, 64-bit
//! integers, byte strings, booleans). It runs on the pool ([`SqlStore::execute`] and friends)
//! or inside a transaction ([`Tx`]); rows come back as [`Row`]s read by column name.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use super::{Dialect, SqlStore};
use crate::error::StoreError;

/// A database the repositories run on: SQLite or PostgreSQL.
///
/// Implemented for every [`Dialect`] that sqlx drives with the column types the migrations
/// use; nothing else implements it.
pub(crate) trait Backend: Dialect {
    /// Runs a statement; returns how many rows it changed.
    fn execute(
        conn: &mut Self::Connection,
        sql: Sql,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Runs a query; returns its first row, if any.
    fn fetch_optional(
        conn: &mut Self::Connection,
        sql: Sql,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send;
    /// Runs a query; returns every row.
    fn fetch_all(
        conn: &mut Self::Connection,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;
    /// Reads a text column.
    fn text(row: &Self::Row, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// Reads an integer column.
    fn int(row: &Self::Row, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// Reads a byte-string column.
    fn bytes(row: &Self::Row, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error>;
}

impl<DB> Backend for DB
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    Option<String>: for<'e> Encode<'e, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<i64>: for<'e> Encode<'e, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<Vec<u8>>: for<'e> Encode<'e, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    bool: for<'e> Encode<'e, DB> + Type<DB>,
{
    async fn execute(conn: &mut DB::Connection, sql: Sql) -> Result<u64, sqlx::Error> {
        let done = bound::<DB>(sql).execute(conn).await?;
        Ok(DB::rows_affected(&done))
    }

    async fn fetch_optional(
        conn: &mut DB::Connection,
        sql: Sql,
    ) -> Result<Option<DB::Row>, sqlx::Error> {
        bound::<DB>(sql).fetch_optional(conn).await
    }

    async fn fetch_all(conn: &mut DB::Connection, sql: Sql) -> Result<Vec<DB::Row>, sqlx::Error> {
        bound::<DB>(sql).fetch_all(conn).await
    }

    fn text(row: &DB::Row, column: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }

    fn int(row: &DB::Row, column: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }

    fn bytes(row: &DB::Row, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
}

/// `sql` as an sqlx query with its arguments bound in order.
fn bound<DB>(sql: Sql) -> sqlx::query::Query<'static, DB, DB::Arguments>
where
    DB: Database,
    Option<String>: for<'e> Encode<'e, DB> + Type<DB>,
    Option<i64>: for<'e> Encode<'e, DB> + Type<DB>,
    Option<Vec<u8>>: for<'e> Encode<'e, DB> + Type<DB>,
    bool: for<'e> Encode<'e, DB> + Type<DB>,
{
    sql.args
        .into_iter()
        .fold(sqlx::query(sql.text), |query, value| match value {
            Value::Text(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
            Value::Bool(v) => query.bind(v),
        })
}

/// An argument of a statement. `None` binds a NULL of the column's type.
///
/// Deliberately not `Debug`: arguments include token hashes and ciphertexts.
pub(crate) enum Value {
    /// `TEXT`.
    Text(Option<String>),
    /// `INTEGER` (SQLite) / `BIGINT` (PostgreSQL).
    Int(Option<i64>),
    /// `BLOB` (SQLite) / `BYTEA` (PostgreSQL).
    Bytes(Option<Vec<u8>>),
    /// `BOOLEAN`.
    Bool(bool),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

value_from! {
    String => |v| Value::Text(Some(v)),
    &str => |v| Value::Text(Some(v.to_owned())),
    &String => |v| Value::Text(Some(v.clone())),
    Option<String> => |v| Value::Text(v),
    &Option<String> => |v| Value::Text(v.clone()),
    i64 => |v| Value::Int(Some(v)),
    Option<i64> => |v| Value::Int(v),
    Vec<u8> => |v| Value::Bytes(Some(v)),
    &[u8] => |v| Value::Bytes(Some(v.to_vec())),
    &Vec<u8> => |v| Value::Bytes(Some(v.clone())),
    &Option<Vec<u8>> => |v| Value::Bytes(v.clone()),
    bool => |v| Value::Bool(v),
}

/// A statement with its arguments; see [`sql`].
pub(crate) struct Sql {
    text: &'static str,
    args: Vec<Value>,
}

/// Starts a statement. The text is `'static`: statements are constants of this crate, never
/// assembled from input; values always travel as `$n` arguments.
pub(crate) fn sql(text: &'static str) -> Sql {
    Sql {
        text,
        args: Vec::new(),
    }
}

impl Sql {
    /// Appends the argument `$n` (n = the number of arguments so far plus one).
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }
}

/// A result row, read by column name.
pub(crate) struct Row<DB: Database>(DB::Row);

impl<DB: Backend> Row<DB> {
    /// The value of `column`.
    ///
    /// # Errors
    /// No such column, or a value of another type (or NULL where `T` is not an `Option`).
    pub(crate) fn get<T: Column>(&self, column: &str) -> Result<T, StoreError> {
        Ok(T::read::<DB>(&self.0, column)?)
    }
}

/// A Rust type a column is read into.
pub(crate) trait Column: Sized {
    /// Reads `column` of `row`.
    fn read<DB: Backend>(row: &DB::Row, column: &str) -> Result<Self, sqlx::Error>;
}

/// A NULL where the schema says NOT NULL: the sqlx error for an unexpected NULL.
fn required<T>(value: Option<T>, column: &str) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(sqlx::error::UnexpectedNullError),
    })
}

macro_rules! column {
    ($t:ty, $read:ident) => {
        impl Column for Option<$t> {
            fn read<DB: Backend>(row: &DB::Row, column: &str) -> Result<Self, sqlx::Error> {
                DB::$read(row, column)
            }
        }
        impl Column for $t {
            fn read<DB: Backend>(row: &DB::Row, column: &str) -> Result<Self, sqlx::Error> {
                required(DB::$read(row, column)?, column)
            }
        }
    };
}
column!(String, text);
column!(i64, int);
column!(Vec<u8>, bytes);

/// Statements run on the pool, each on a connection of its own (as sqlx's pool executor does).
impl<DB: Backend> SqlStore<DB> {
    /// Runs a statement; returns how many rows it changed.
    pub(crate) async fn execute(&self, sql: Sql) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(DB::execute(&mut conn, sql).await?)
    }

    /// Runs a query; returns its first row, if any.
    pub(crate) async fn fetch_optional(&self, sql: Sql) -> Result<Option<Row<DB>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(DB::fetch_optional(&mut conn, sql).await?.map(Row))
    }

    /// Runs a query that always returns a row (an aggregate, the audit head).
    pub(crate) async fn fetch_one(&self, sql: Sql) -> Result<Row<DB>, StoreError> {
        self.fetch_optional(sql)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs a query; returns every row.
    pub(crate) async fn fetch_all(&self, sql: Sql) -> Result<Vec<Row<DB>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = DB::fetch_all(&mut conn, sql).await?;
        Ok(rows.into_iter().map(Row).collect())
    }

    /// Starts a transaction; dropped without [`Tx::commit`], it rolls back.
    pub(crate) async fn begin(&self) -> Result<Tx<DB>, StoreError> {
        Ok(Tx(self.pool.begin().await?))
    }
}

/// A transaction: the same statements as on the pool, all or nothing.
pub(crate) struct Tx<DB: Database>(sqlx::Transaction<'static, DB>);

impl<DB: Backend> Tx<DB> {
    /// Runs a statement; returns how many rows it changed.
    pub(crate) async fn execute(&mut self, sql: Sql) -> Result<u64, StoreError> {
        Ok(DB::execute(&mut self.0, sql).await?)
    }

    /// Runs a query; returns its first row, if any.
    pub(crate) async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<Row<DB>>, StoreError> {
        Ok(DB::fetch_optional(&mut self.0, sql).await?.map(Row))
    }

    /// Runs a query that always returns a row.
    pub(crate) async fn fetch_one(&mut self, sql: Sql) -> Result<Row<DB>, StoreError> {
        self.fetch_optional(sql)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs a query; returns every row.
    pub(crate) async fn fetch_all(&mut self, sql: Sql) -> Result<Vec<Row<DB>>, StoreError> {
        let rows = DB::fetch_all(&mut self.0, sql).await?;
        Ok(rows.into_iter().map(Row).collect())
    }

    /// Makes the transaction's changes durable.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }

    /// Abandons the transaction's changes.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.0.rollback().await?)
    }
}
