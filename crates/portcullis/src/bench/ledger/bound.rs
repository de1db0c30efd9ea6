//! What the storage under a ledger can do at best, measured on the same disk in the same run:
//! `fdatasync` of one file, and a bare batched insert of the ledger's rows.

use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection as _, PgConnection, Postgres, QueryBuilder, Sqlite, SqliteConnection};

/// Rows per INSERT statement, as the ledger's storage writes them.
const CHUNK: usize = 1000;

/// `write` of one 4 KiB block and `fdatasync`, in a loop for `length`, on a file in `dir`:
/// syncs per second.
///
/// # Errors
/// The file could not be written or synced.
pub(super) async fn fsyncs(dir: &Path, length: Duration) -> anyhow::Result<f64> {
    let path = dir.join("fsync.bench");
    let rate = tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        use std::os::unix::fs::FileExt as _;
        let file = std::fs::File::create(&path)?;
        let block = [0x5au8; 4096];
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < length {
            // Alternate two blocks so that each sync has a fresh page to write.
            file.write_all_at(&block, (n % 2) * 4096)?;
            file.sync_data()?;
            n += 1;
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        drop(file);
        std::fs::remove_file(&path)?;
        Ok(rate)
    })
    .await??;
    Ok(rate)
}

/// A row of the bare table: an index and a body of the ledger's mean size.
fn rows(count: u64, body: usize) -> impl Iterator<Item = (i64, Vec<u8>)> {
    (0..i64::try_from(count).unwrap_or(i64::MAX)).map(move |i| (i, vec![0x42u8; body]))
}

/// The batch size to replay: the ledger's mean, at least one.
fn batch_len(mean: f64) -> usize {
    (mean.round() as usize).max(1)
}

/// Inserts `count` rows of `body` bytes in transactions of `mean_batch` rows, one writer,
/// into a bare table in a new SQLite file at `path` (WAL, `synchronous = FULL`, as the
/// ledger's): rows per second.
///
/// # Errors
/// SQLite failed.
pub(super) async fn sqlite_insert(
    path: &Path,
    count: u64,
    mean_batch: f64,
    body: usize,
) -> anyhow::Result<f64> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sqlx::raw_sql("CREATE TABLE bare (idx INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .execute(&mut conn)
        .await?;
    let rate = sqlite_batches(&mut conn, count, batch_len(mean_batch), body).await?;
    conn.close().await?;
    Ok(rate)
}

/// As [`sqlite_insert`], into a table made (and dropped) in the database at `url`, with the
/// server's own durability settings.
///
/// # Errors
/// PostgreSQL failed.
pub(super) async fn postgres_insert(
    url: &str,
    count: u64,
    mean_batch: f64,
    body: usize,
) -> anyhow::Result<f64> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS portcullis_bench_bare; \
         CREATE TABLE portcullis_bench_bare (idx BIGINT PRIMARY KEY, body BYTEA NOT NULL)",
    )
    .execute(&mut conn)
    .await?;
    let rate = postgres_batches(&mut conn, count, batch_len(mean_batch), body).await;
    sqlx::raw_sql("DROP TABLE portcullis_bench_bare")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    rate
}

/// The insert loop, one per database: one transaction per batch, multi-row statements.
macro_rules! insert_batches {
    ($name:ident, $db:ty, $conn:ty, $table:literal) => {
        async fn $name(
            conn: &mut $conn,
            count: u64,
            batch: usize,
            body: usize,
        ) -> anyhow::Result<f64> {
            let all: Vec<(i64, Vec<u8>)> = rows(count, body).collect();
            let started = Instant::now();
            for group in all.chunks(batch) {
                let mut tx = conn.begin().await?;
                for chunk in group.chunks(CHUNK) {
                    let mut q =
                        QueryBuilder::<$db>::new(concat!("INSERT INTO ", $table, " (idx, body) "));
                    q.push_values(chunk, |mut row, (idx, body)| {
                        row.push_bind(*idx).push_bind(body.clone());
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Ok(all.len() as f64 / started.elapsed().as_secs_f64())
        }
    };
}

insert_batches!(sqlite_batches, Sqlite, SqliteConnection, "bare");
insert_batches!(
    postgres_batches,
    Postgres,
    PgConnection,
    "portcullis_bench_bare"
);
