//! The SQL behind every repository, written once for both backends.
//!
//! SQLite and PostgreSQL both accept `$n` placeholders, `RETURNING`, `ON CONFLICT` and the
//! column types chosen in the migrations (text ids, integer unix seconds, byte blobs), so each
//! repository trait is implemented once, in its own file (`sessions.rs` holds the sessions
//! SQL), for [`SqlStore<DB>`] over any [`Backend`](backend::Backend). What differs between the
//! two databases (connection options, migration folders, the [`Dialect`]) lives in
//! `sqlite.rs` and `postgres.rs`.
//!
//! Every repository method opens a `debug` span named after it, carrying only identifiers
//! (`account.id`, `session.id`, …): never tokens, hashes, ciphertexts or e-mail addresses.

mod backend;
pub(crate) mod postgres;
pub(crate) mod sqlite;

mod account_changes;
mod accounts;
mod api_keys;
mod audit;
mod challenges;
mod clients;
mod cooldown;
mod custody;
mod email_tokens;
mod factors;
mod health;
mod invitations;
mod otp;
mod outbox;
mod pairs;
mod sessions;
mod throttle;
mod webhooks;
mod word_checks;

use portcullis_core::ids::{AccountId, ApiKeyId, ChallengeId, SessionId};
use portcullis_core::secret::TokenHash;
use sqlx::{Database, Pool};

use crate::error::StoreError;
use backend::Value;

/// Every repository over one database: SQLite or PostgreSQL.
pub(crate) struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    /// This process's side of the custodial send locks ([`custody`]).
    send_locks: std::sync::Arc<custody::SendLocks>,
}

/// Another handle on the same pool and locks.
impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            send_locks: self.send_locks.clone(),
        }
    }
}

impl<DB: Database> SqlStore<DB> {
    fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            send_locks: Default::default(),
        }
    }
}

/// What sqlx leaves to each driver and the repositories need: a name and the count of rows
/// a statement changed.
pub(crate) trait Dialect: Database {
    /// The backend's name, as `/health/detailed` and `portcullis migrate` report it.
    const LABEL: &'static str;
    /// Rows changed by a statement.
    fn rows_affected(done: &Self::QueryResult) -> u64;
    /// A statement taking a lock, held until the transaction ends, on the text `$1`, shared
    /// by every connection to the database (PostgreSQL's advisory locks); `None` where the
    /// database has no such lock and a process is its only writer (SQLite).
    const TRANSACTION_LOCK: Option<&'static str>;
}

impl From<AccountId> for Value {
    fn from(id: AccountId) -> Self {
        Value::Text(Some(id.to_string()))
    }
}

impl From<SessionId> for Value {
    fn from(id: SessionId) -> Self {
        Value::Text(Some(id.to_string()))
    }
}

impl From<ChallengeId> for Value {
    fn from(id: ChallengeId) -> Self {
        Value::Text(Some(id.to_string()))
    }
}

impl From<ApiKeyId> for Value {
    fn from(id: ApiKeyId) -> Self {
        Value::Text(Some(id.to_string()))
    }
}

impl From<&TokenHash> for Value {
    fn from(hash: &TokenHash) -> Self {
        Value::Bytes(Some(hash.as_bytes().to_vec()))
    }
}

/// An account id read back from a column.
fn account_id(s: &str) -> Result<AccountId, StoreError> {
    s.parse().map_err(|e| StoreError::decode("account id", e))
}

/// A session id read back from a column.
fn session_id(s: &str) -> Result<SessionId, StoreError> {
    s.parse().map_err(|e| StoreError::decode("session id", e))
}

/// A list of names (roles, `amr`) as the JSON text it is stored as.
fn to_json_list(v: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::encode("list", e))
}

/// A list of names read back from its JSON text.
fn from_json_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::decode("list", e))
}

/// A SHA-256 digest read back from a byte column.
fn hash32(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}
