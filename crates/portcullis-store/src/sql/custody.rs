//! [`CustodyRepo`]: the `custodial_wallets` and `custodial_sends` tables, and the nonce
//! manager's lock.
//!
//! A send holds its account's lock from reading the wallet's next nonce until the send is
//! recorded with it. The lock has two halves:
//! - in this process, an async mutex per account ([`SendLocks`]): concurrent sends of one
//!   account on one node queue here without holding a database connection;
//! - across processes on PostgreSQL, an advisory lock (`pg_advisory_xact_lock`) taken in a
//!   transaction the lease keeps open, so two nodes never hand out the same nonce.
//!
//! SQLite has one writer process, so the first half is all it needs; keeping a write
//! transaction open across a broadcast would stall every other writer. Its commit checks
//! that the stored nonce did not move, and the unique (wallet, nonce) index refuses a reuse
//! on both databases whatever happens above.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;
use tracing::instrument;

use super::backend::{Backend, Row, Tx, sql};
use super::{SqlStore, account_id};
use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{CustodialWalletRecord, SendRecord, SendSettlement};
use crate::repo::{CustodyRepo, SendLease};

/// This process's per-account send locks.
#[derive(Default)]
pub(crate) struct SendLocks(Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>);

impl SendLocks {
    async fn acquire(&self, account: AccountId) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Forget locks nobody holds or waits for, so the map stays as small as the set of
            // accounts sending right now.
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(account).or_default().clone()
        };
        lock.lock_owned().await
    }
}

macro_rules! wallet_columns {
    () => {
        "id, account_id, address, label, sealed_key, wrapped_key, master_version, kdf_salt, \
         kdf_params, next_nonce, created_at"
    };
}

macro_rules! send_columns {
    () => {
        "id, wallet_id, account_id, nonce, to_address, value_wei, data, tx_hash, raw, gas_limit, \
         max_fee_per_gas, max_priority_fee_per_gas, status, error, block, gas_used, \
         effective_gas_price, created_at, updated_at"
    };
}

fn wallet<DB: Backend>(r: &Row<DB>) -> Result<CustodialWalletRecord, StoreError> {
    Ok(CustodialWalletRecord {
        id: r.get("id")?,
        account: account_id(&r.get::<String>("account_id")?)?,
        address: r.get("address")?,
        label: r.get("label")?,
        sealed_key: r.get("sealed_key")?,
        wrapped_key: WrappedKey {
            master_version: master_version(r.get("master_version")?)?,
            bytes: r.get("wrapped_key")?,
        },
        kdf_salt: r.get("kdf_salt")?,
        kdf_params: r.get("kdf_params")?,
        next_nonce: r.get("next_nonce")?,
        created_at: r.get("created_at")?,
    })
}

fn master_version(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("master version {v}")))
}

fn send<DB: Backend>(r: &Row<DB>) -> Result<SendRecord, StoreError> {
    Ok(SendRecord {
        id: r.get("id")?,
        wallet_id: r.get("wallet_id")?,
        account: account_id(&r.get::<String>("account_id")?)?,
        nonce: r.get("nonce")?,
        to: r.get("to_address")?,
        value_wei: r.get("value_wei")?,
        data: r.get("data")?,
        tx_hash: r.get("tx_hash")?,
        raw: r.get("raw")?,
        gas_limit: r.get("gas_limit")?,
        max_fee_per_gas: r.get("max_fee_per_gas")?,
        max_priority_fee_per_gas: r.get("max_priority_fee_per_gas")?,
        status: r
            .get::<String>("status")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        error: r.get("error")?,
        block: r.get("block")?,
        gas_used: r.get("gas_used")?,
        effective_gas_price: r.get("effective_gas_price")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn insert_send(s: &SendRecord) -> super::backend::Sql {
    sql(concat!(
        "INSERT INTO custodial_sends (",
        send_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19)"
    ))
    .bind(&s.id)
    .bind(&s.wallet_id)
    .bind(s.account)
    .bind(s.nonce)
    .bind(&s.to)
    .bind(&s.value_wei)
    .bind(&s.data)
    .bind(&s.tx_hash)
    .bind(&s.raw)
    .bind(s.gas_limit)
    .bind(&s.max_fee_per_gas)
    .bind(&s.max_priority_fee_per_gas)
    .bind(s.status.as_str())
    .bind(&s.error)
    .bind(s.block)
    .bind(s.gas_used)
    .bind(&s.effective_gas_price)
    .bind(s.created_at)
    .bind(s.updated_at)
}

#[async_trait]
impl<DB: Backend> CustodyRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(wallet.id = %w.id, account.id = %w.account))]
    async fn create_wallet(&self, w: &CustodialWalletRecord) -> Result<(), StoreError> {
        self.execute(
            sql(concat!(
                "INSERT INTO custodial_wallets (",
                wallet_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(&w.id)
            .bind(w.account)
            .bind(&w.address)
            .bind(&w.label)
            .bind(&w.sealed_key)
            .bind(&w.wrapped_key.bytes)
            .bind(i64::from(w.wrapped_key.master_version))
            .bind(&w.kdf_salt)
            .bind(&w.kdf_params)
            .bind(w.next_nonce)
            .bind(w.created_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account))]
    async fn wallets_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<CustodialWalletRecord>, StoreError> {
        self.fetch_all(
            sql(concat!(
                "SELECT ",
                wallet_columns!(),
                " FROM custodial_wallets WHERE account_id = $1 ORDER BY created_at, id"
            ))
            .bind(account),
        )
        .await?
        .iter()
        .map(wallet)
        .collect()
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, wallet.id = id))]
    async fn wallet(
        &self,
        account: AccountId,
        id: &str,
    ) -> Result<Option<CustodialWalletRecord>, StoreError> {
        self.fetch_optional(
            sql(concat!(
                "SELECT ",
                wallet_columns!(),
                " FROM custodial_wallets WHERE id = $1 AND account_id = $2"
            ))
            .bind(id)
            .bind(account),
        )
        .await?
        .as_ref()
        .map(wallet)
        .transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn wallet_keys(&self) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        self.fetch_all(sql(
            "SELECT id, wrapped_key, master_version FROM custodial_wallets ORDER BY id",
        ))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.get("id")?,
                WrappedKey {
                    master_version: master_version(r.get("master_version")?)?,
                    bytes: r.get("wrapped_key")?,
                },
            ))
        })
        .collect()
    }

    #[instrument(level = "debug", skip_all, fields(wallet.id = id))]
    async fn replace_wallet_key(&self, id: &str, key: &WrappedKey) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE custodial_wallets SET wrapped_key = $2, master_version = $3 WHERE id = $1")
                .bind(id)
                .bind(&key.bytes)
                .bind(i64::from(key.master_version)),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, wallet.id = wallet))]
    async fn begin_send(
        &self,
        account: AccountId,
        wallet: &str,
    ) -> Result<Box<dyn SendLease>, StoreError> {
        let guard = self.send_locks.acquire(account).await;
        let read =
            sql("SELECT next_nonce FROM custodial_wallets WHERE id = $1 AND account_id = $2")
                .bind(wallet)
                .bind(account);
        let (tx, stored) = match DB::TRANSACTION_LOCK {
            Some(lock) => {
                let mut tx = self.begin().await?;
                tx.execute(sql(lock).bind(account.to_string())).await?;
                let stored: i64 = tx.fetch_one(read).await?.get("next_nonce")?;
                (Some(tx), stored)
            }
            None => (None, self.fetch_one(read).await?.get("next_nonce")?),
        };
        Ok(Box::new(SqlSendLease {
            store: self.clone(),
            tx,
            account,
            wallet: wallet.to_owned(),
            stored,
            _guard: guard,
        }))
    }

    #[instrument(level = "debug", skip_all, fields(send.id = %s.id, wallet.id = %s.wallet_id))]
    async fn record_refused(&self, s: &SendRecord) -> Result<(), StoreError> {
        self.execute(insert_send(s)).await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(wallet.id = wallet))]
    async fn sends(&self, wallet: &str, limit: i64) -> Result<Vec<SendRecord>, StoreError> {
        self.fetch_all(
            sql(concat!(
                "SELECT ",
                send_columns!(),
                " FROM custodial_sends WHERE wallet_id = $1 ORDER BY created_at DESC, id DESC \
                 LIMIT $2"
            ))
            .bind(wallet)
            .bind(limit),
        )
        .await?
        .iter()
        .map(send)
        .collect()
    }

    #[instrument(level = "debug", skip_all, fields(wallet.id = wallet, send.id = id))]
    async fn send(&self, wallet: &str, id: &str) -> Result<Option<SendRecord>, StoreError> {
        self.fetch_optional(
            sql(concat!(
                "SELECT ",
                send_columns!(),
                " FROM custodial_sends WHERE wallet_id = $1 AND id = $2"
            ))
            .bind(wallet)
            .bind(id),
        )
        .await?
        .as_ref()
        .map(send)
        .transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn open_sends(&self, limit: i64) -> Result<Vec<SendRecord>, StoreError> {
        self.fetch_all(
            sql(concat!(
                "SELECT ",
                send_columns!(),
                " FROM custodial_sends WHERE status IN ('pending', 'unconfirmed') \
                 ORDER BY created_at, id LIMIT $1"
            ))
            .bind(limit),
        )
        .await?
        .iter()
        .map(send)
        .collect()
    }

    #[instrument(level = "debug", skip_all, fields(send.id = id))]
    async fn settle(&self, id: &str, s: &SendSettlement, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE custodial_sends SET status = $2, error = $3, block = $4, \
                     gas_used = $5, effective_gas_price = $6, updated_at = $7 \
                     WHERE id = $1 AND status IN ('pending', 'unconfirmed')",
                )
                .bind(id)
                .bind(s.status.as_str())
                .bind(&s.error)
                .bind(s.block)
                .bind(s.gas_used)
                .bind(&s.effective_gas_price)
                .bind(now),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(send.id = id))]
    async fn confirm_broadcast(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE custodial_sends SET status = 'pending', updated_at = $2 \
                     WHERE id = $1 AND status = 'unconfirmed'",
                )
                .bind(id)
                .bind(now),
            )
            .await?;
        Ok(changed == 1)
    }
}

/// A held send lock; see the module documentation.
struct SqlSendLease<DB: Backend> {
    store: SqlStore<DB>,
    /// PostgreSQL: the transaction holding the advisory lock.
    tx: Option<Tx<DB>>,
    account: AccountId,
    wallet: String,
    stored: i64,
    _guard: OwnedMutexGuard<()>,
}

const SPENT_SINCE: &str = "SELECT wallet_id, value_wei FROM custodial_sends \
     WHERE account_id = $1 AND created_at >= $2 AND status <> 'refused'";

#[async_trait]
impl<DB: Backend> SendLease for SqlSendLease<DB> {
    fn stored_nonce(&self) -> i64 {
        self.stored
    }

    async fn spent_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError> {
        let query = sql(SPENT_SINCE).bind(self.account).bind(since);
        let rows = match self.tx.as_mut() {
            Some(tx) => tx.fetch_all(query).await?,
            None => self.store.fetch_all(query).await?,
        };
        rows.iter()
            .map(|r| Ok((r.get("wallet_id")?, r.get("value_wei")?)))
            .collect()
    }

    async fn commit(self: Box<Self>, s: &SendRecord) -> Result<(), StoreError> {
        let this = *self;
        let Some(nonce) = s.nonce else {
            return Err(StoreError::Corrupt(
                "a broadcast send without a nonce".into(),
            ));
        };
        let mut tx = match this.tx {
            Some(tx) => tx,
            None => this.store.begin().await?,
        };
        let moved = tx
            .execute(
                sql("UPDATE custodial_wallets SET next_nonce = $3 \
                     WHERE id = $1 AND next_nonce = $2")
                .bind(&this.wallet)
                .bind(this.stored)
                .bind(nonce + 1),
            )
            .await?;
        if moved != 1 {
            return Err(StoreError::Conflict("the wallet's nonce moved"));
        }
        tx.execute(insert_send(s)).await?;
        tx.commit().await
    }
}
