//! [`AccountRepo`]: the `accounts` and `account_keys` tables.
//!
//! An account's row in `account_keys` exists from its creation until it is shredded; the
//! credentials that must not outlive the account (factors, recovery codes, one-time codes,
//! DualConfirm pairs) reference that row with `ON DELETE CASCADE`, so shredding deletes the key
//! and the database removes the rest. What stays is the tombstone, the revoked sessions (the
//! revocation feed still reports them), the spent mail tokens and the audit log.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use tracing::instrument;

use super::backend::{Backend, Row, Sql, sql};
use super::{SqlStore, account_id, from_json_list, to_json_list};
use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{AccountRecord, AccountStatus};
use crate::repo::AccountRepo;

/// Columns of `accounts`, as [`account`] reads them.
macro_rules! columns {
    () => {
        "id, email_index, email_ct, phone_ct, display_name_ct, password_hash, status, roles, \
         created_at, updated_at, verified_at"
    };
}

fn account<DB: Backend>(r: &Row<DB>) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        id: account_id(&r.get::<String>("id")?)?,
        email_index: r.get("email_index")?,
        email_ct: r.get("email_ct")?,
        phone_ct: r.get("phone_ct")?,
        display_name_ct: r.get("display_name_ct")?,
        password_hash: r.get("password_hash")?,
        status: r
            .get::<String>("status")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        roles: from_json_list(&r.get::<String>("roles")?)?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        verified_at: r.get("verified_at")?,
    })
}

fn wrapped<DB: Backend>(r: &Row<DB>) -> Result<WrappedKey, StoreError> {
    let master_version = u32::try_from(r.get::<i64>("master_version")?)
        .map_err(|_| StoreError::Corrupt("bad master version".into()))?;
    Ok(WrappedKey {
        master_version,
        bytes: r.get("wrapped")?,
    })
}

#[async_trait]
impl<DB: Backend> AccountRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(account.id = %a.id))]
    async fn create(&self, a: &AccountRecord, key: &WrappedKey) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(insert_account(a)?).await?;
        tx.execute(insert_key(a.id, key)).await?;
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn get(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM accounts WHERE id = $1"
        ))
        .bind(id);
        self.fetch_optional(q)
            .await?
            .as_ref()
            .map(account)
            .transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn find_by_email_index(&self, index: &[u8]) -> Result<Option<AccountRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM accounts WHERE email_index = $1"
        ));
        let row = self.fetch_optional(q.bind(index)).await?;
        row.as_ref().map(account).transpose()
    }

    #[instrument(level = "debug", skip_all, fields(limit = limit, offset = offset))]
    async fn list(&self, limit: i64, offset: i64) -> Result<Vec<AccountRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM accounts ORDER BY created_at, id LIMIT $1 OFFSET $2"
        ));
        let rows = self.fetch_all(q.bind(limit).bind(offset)).await?;
        rows.iter().map(account).collect()
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %a.id))]
    async fn update_pii(&self, a: &AccountRecord, now: i64) -> Result<(), StoreError> {
        self.execute(update_pii(a, now)).await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn set_password_hash(
        &self,
        id: AccountId,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now)
                .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id, account.status = %status))]
    async fn set_status(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(set_status(id, status, now)).await? == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn set_roles(
        &self,
        id: AccountId,
        roles: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(set_roles(id, roles, now)?).await? == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn mark_verified(&self, id: AccountId, now: i64) -> Result<bool, StoreError> {
        Ok(self.execute(mark_verified(id, now)).await? == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn shred(&self, id: AccountId, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for statement in shred(id, now) {
            tx.execute(statement).await?;
        }
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn data_key(&self, id: AccountId) -> Result<Option<WrappedKey>, StoreError> {
        let q = sql("SELECT master_version, wrapped FROM account_keys WHERE account_id = $1");
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(wrapped).transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn all_data_keys(&self) -> Result<Vec<(AccountId, WrappedKey)>, StoreError> {
        let q =
            sql("SELECT account_id, master_version, wrapped FROM account_keys ORDER BY account_id");
        let rows = self.fetch_all(q).await?;
        rows.iter()
            .map(|r| Ok((account_id(&r.get::<String>("account_id")?)?, wrapped(r)?)))
            .collect()
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %id))]
    async fn replace_data_key(&self, id: AccountId, key: &WrappedKey) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE account_keys SET master_version = $1, wrapped = $2 WHERE account_id = $3")
                .bind(i64::from(key.master_version))
                .bind(&key.bytes)
                .bind(id),
        )
        .await?;
        Ok(())
    }
}

// The statements of the changes, shared with `account_changes.rs`, which runs them in a
// transaction with the change's webhook event.

/// Inserts the account row.
pub(super) fn insert_account(a: &AccountRecord) -> Result<Sql, StoreError> {
    Ok(sql(concat!(
        "INSERT INTO accounts (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(a.id)
    .bind(&a.email_index)
    .bind(&a.email_ct)
    .bind(&a.phone_ct)
    .bind(&a.display_name_ct)
    .bind(&a.password_hash)
    .bind(a.status.as_str())
    .bind(to_json_list(&a.roles)?)
    .bind(a.created_at)
    .bind(a.updated_at)
    .bind(a.verified_at))
}

/// Inserts the account's wrapped data key.
pub(super) fn insert_key(id: AccountId, key: &WrappedKey) -> Sql {
    sql("INSERT INTO account_keys (account_id, master_version, wrapped) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(i64::from(key.master_version))
        .bind(&key.bytes)
}

/// Replaces the sealed personal fields and the e-mail index.
pub(super) fn update_pii(a: &AccountRecord, now: i64) -> Sql {
    sql(
        "UPDATE accounts SET email_index = $1, email_ct = $2, phone_ct = $3, \
         display_name_ct = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&a.email_index)
    .bind(&a.email_ct)
    .bind(&a.phone_ct)
    .bind(&a.display_name_ct)
    .bind(now)
    .bind(a.id)
}

/// Sets the status of a live account (changes one row or none).
pub(super) fn set_status(id: AccountId, status: AccountStatus, now: i64) -> Sql {
    sql("UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3 AND status <> 'deleted'")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
}

/// Sets the roles of a live account (changes one row or none).
pub(super) fn set_roles(id: AccountId, roles: &[String], now: i64) -> Result<Sql, StoreError> {
    Ok(
        sql(
            "UPDATE accounts SET roles = $1, updated_at = $2 WHERE id = $3 AND status <> 'deleted'",
        )
        .bind(to_json_list(roles)?)
        .bind(now)
        .bind(id),
    )
}

/// Activates a pending account (changes one row or none).
pub(super) fn mark_verified(id: AccountId, now: i64) -> Sql {
    sql(
        "UPDATE accounts SET status = 'active', verified_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(id)
}

/// The statements of a shredding, in order.
pub(super) fn shred(id: AccountId, now: i64) -> [Sql; 4] {
    [
        // Cascades to factors, recovery codes, one-time codes and DualConfirm pairs.
        sql("DELETE FROM account_keys WHERE account_id = $1").bind(id),
        sql(
            "UPDATE accounts SET status = 'deleted', email_index = NULL, password_hash = '', \
             roles = '[]', updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id),
        // Sessions and mail tokens are spent, not deleted: the revocation feed reports the
        // sessions, and a spent token reads the same as an unknown one.
        sql(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = 'account_deleted' \
             WHERE account_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id),
        sql("UPDATE email_tokens SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id),
    ]
}
