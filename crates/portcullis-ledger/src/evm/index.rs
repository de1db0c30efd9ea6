//! The local index of a token ledger held on a chain: each token's owner and state as the
//! contract's events say (tables `evm_tokens` and `evm_cursor` in the ledger's own storage,
//! migration 0003). Every row keeps the chain position of the event it reflects, and an
//! event only changes a row it is newer than, so the follower and the receipts of this
//! node's own writes may both apply the same event, in any order, with one result.

use alloy::primitives::{Address, B256};

use crate::LedgerError;
use crate::storage::Storage;

/// Where an event is on the chain: its block and its index among the block's logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Block number.
    pub block: u64,
    /// Log index within the block.
    pub log_index: u64,
}

/// One change to a token, decoded from the contract's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `Minted`: the token exists, owned by `owner`.
    Minted {
        /// keccak256 of `token`.
        token_id: B256,
        /// The ledger's token id.
        token: String,
        /// First owner.
        owner: Address,
        /// The JSON object it was minted with.
        attributes: String,
    },
    /// `Transfer` between two accounts.
    Moved {
        /// The token.
        token_id: B256,
        /// Its owner after.
        to: Address,
    },
    /// `Transfer` to the zero address.
    Burned {
        /// The token.
        token_id: B256,
    },
}

/// A token as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedToken {
    /// keccak256 of `token`.
    pub token_id: B256,
    /// The ledger's token id.
    pub token: String,
    /// Its owner (the last one, once burned).
    pub owner: Address,
    /// Whether it was burned.
    pub burned: bool,
    /// The JSON object it was minted with.
    pub attributes: String,
    /// The position of the last event applied to it.
    pub at: Position,
}

type Row = (String, String, String, bool, String, i64, i64);

const SELECT: &str =
    "SELECT token_id, token, owner, burned, attributes, block, log_index FROM evm_tokens";

/// Runs one statement with binds on either backend; the SQL uses `$n` placeholders, which
/// both accept.
macro_rules! execute {
    ($storage:expr, $sql:expr $(, $bind:expr)*) => {
        match $storage {
            Storage::Sqlite(pool) => sqlx::query($sql)$(.bind($bind))*.execute(pool).await?.rows_affected(),
            Storage::Postgres(pool) => sqlx::query($sql)$(.bind($bind))*.execute(pool).await?.rows_affected(),
        }
    };
}

/// Fetches rows of type `$t` on either backend.
macro_rules! fetch {
    ($storage:expr, $t:ty, $sql:expr $(, $bind:expr)*) => {
        match $storage {
            Storage::Sqlite(pool) => sqlx::query_as::<_, $t>($sql)$(.bind($bind))*.fetch_all(pool).await?,
            Storage::Postgres(pool) => sqlx::query_as::<_, $t>($sql)$(.bind($bind))*.fetch_all(pool).await?,
        }
    };
}

/// The index in a token ledger's storage.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    storage: Storage,
}

fn int(v: u64) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::Corrupt(format!("chain position {v} too large")))
}

fn uint(v: i64) -> Result<u64, LedgerError> {
    u64::try_from(v).map_err(|_| LedgerError::Corrupt(format!("negative chain position {v}")))
}

fn decode(row: Row) -> Result<IndexedToken, LedgerError> {
    let (token_id, token, owner, burned, attributes, block, log_index) = row;
    let bad = |what: &str| LedgerError::Corrupt(format!("evm index: unreadable {what}"));
    Ok(IndexedToken {
        token_id: token_id.parse().map_err(|_| bad("token id"))?,
        token,
        owner: owner.parse().map_err(|_| bad("owner"))?,
        burned,
        attributes,
        at: Position {
            block: uint(block)?,
            log_index: uint(log_index)?,
        },
    })
}

impl Index {
    pub(crate) fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// The block the follower reads next, after checking the index belongs to `contract`;
    /// a fresh index starts at `start_block`.
    ///
    /// # Errors
    /// [`LedgerError::Corrupt`] when the index was fed by another contract: mixing two
    /// contracts' events would make it meaningless.
    pub(crate) async fn open_cursor(
        &self,
        contract: Address,
        start_block: u64,
    ) -> Result<u64, LedgerError> {
        execute!(
            &self.storage,
            "INSERT INTO evm_cursor (id, contract, next_block) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
            contract.to_string(),
            int(start_block)?
        );
        let rows = fetch!(
            &self.storage,
            (String, i64),
            "SELECT contract, next_block FROM evm_cursor WHERE id = 1"
        );
        let (stored, next) = rows
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::Corrupt("evm index: no cursor".into()))?;
        if stored != contract.to_string() {
            return Err(LedgerError::Corrupt(format!(
                "the evm index follows contract {stored}, the configuration names {contract}"
            )));
        }
        uint(next)
    }

    /// The block the follower reads next.
    pub(crate) async fn cursor(&self) -> Result<u64, LedgerError> {
        let rows = fetch!(
            &self.storage,
            (i64,),
            "SELECT next_block FROM evm_cursor WHERE id = 1"
        );
        let (next,) = rows
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::Corrupt("evm index: no cursor".into()))?;
        uint(next)
    }

    /// Records that every block below `next_block` is indexed (never moving back: two
    /// followers on one database may finish out of order).
    pub(crate) async fn advance(&self, next_block: u64) -> Result<(), LedgerError> {
        execute!(
            &self.storage,
            "UPDATE evm_cursor SET next_block = $1 WHERE id = 1 AND next_block < $1",
            int(next_block)?
        );
        Ok(())
    }

    /// Applies one event at `at`; an event older than what a row reflects changes nothing.
    pub(crate) async fn apply(&self, at: Position, event: &Event) -> Result<(), LedgerError> {
        let (block, log_index) = (int(at.block)?, int(at.log_index)?);
        match event {
            Event::Minted {
                token_id,
                token,
                owner,
                attributes,
            } => {
                execute!(
                    &self.storage,
                    "INSERT INTO evm_tokens \
                       (token_id, token, owner, burned, attributes, block, log_index) \
                     VALUES ($1, $2, $3, FALSE, $4, $5, $6) ON CONFLICT (token_id) DO NOTHING",
                    token_id.to_string(),
                    token.clone(),
                    owner.to_string(),
                    attributes.clone(),
                    block,
                    log_index
                );
            }
            Event::Moved { token_id, to } => {
                execute!(
                    &self.storage,
                    "UPDATE evm_tokens SET owner = $1, block = $2, log_index = $3 \
                     WHERE token_id = $4 AND (block < $2 OR (block = $2 AND log_index < $3))",
                    to.to_string(),
                    block,
                    log_index,
                    token_id.to_string()
                );
            }
            Event::Burned { token_id } => {
                execute!(
                    &self.storage,
                    "UPDATE evm_tokens SET burned = TRUE, block = $1, log_index = $2 \
                     WHERE token_id = $3 AND (block < $1 OR (block = $1 AND log_index < $2))",
                    block,
                    log_index,
                    token_id.to_string()
                );
            }
        }
        Ok(())
    }

    /// The token with the ledger id `token`.
    pub(crate) async fn get(&self, token: &str) -> Result<Option<IndexedToken>, LedgerError> {
        let sql = format!("{SELECT} WHERE token = $1");
        let rows = fetch!(
            &self.storage,
            Row,
            sqlx::AssertSqlSafe(sql),
            token.to_owned()
        );
        rows.into_iter().next().map(decode).transpose()
    }

    /// Every token, by id.
    pub(crate) async fn all(&self) -> Result<Vec<IndexedToken>, LedgerError> {
        let sql = format!("{SELECT} ORDER BY token_id");
        let rows = fetch!(&self.storage, Row, sqlx::AssertSqlSafe(sql));
        rows.into_iter().map(decode).collect()
    }
}
