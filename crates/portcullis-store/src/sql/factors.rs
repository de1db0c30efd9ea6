//! [`FactorRepo`]: the `factors` and `recovery_codes` tables.
//!
//! The TOTP replay guard and single-use recovery codes are conditional UPDATEs: of two
//! concurrent uses of one code, the database lets exactly one change the row.

use async_trait::async_trait;
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, account_id};
use crate::error::StoreError;
use crate::model::FactorRecord;
use crate::repo::FactorRepo;

fn factor<DB: Backend>(r: &Row<DB>) -> Result<FactorRecord, StoreError> {
    Ok(FactorRecord {
        id: r.get("id")?,
        account_id: account_id(&r.get::<String>("account_id")?)?,
        kind: r
            .get::<String>("kind")?
            .parse::<FactorKind>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        label: r.get("label")?,
        secret_ct: r.get("secret_ct")?,
        last_step: r.get("last_step")?,
        created_at: r.get("created_at")?,
        confirmed_at: r.get("confirmed_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

#[async_trait]
impl<DB: Backend> FactorRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(factor.id = %f.id, account.id = %f.account_id, factor.kind = %f.kind))]
    async fn insert(&self, f: &FactorRecord) -> Result<(), StoreError> {
        self.execute(
            sql(
                "INSERT INTO factors (id, account_id, kind, label, secret_ct, last_step, \
                 created_at, confirmed_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&f.id)
            .bind(f.account_id)
            .bind(f.kind.as_str())
            .bind(&f.label)
            .bind(&f.secret_ct)
            .bind(f.last_step)
            .bind(f.created_at)
            .bind(f.confirmed_at)
            .bind(f.last_used_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account))]
    async fn list(&self, account: AccountId) -> Result<Vec<FactorRecord>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "SELECT id, account_id, kind, label, secret_ct, last_step, created_at, \
                     confirmed_at, last_used_at FROM factors WHERE account_id = $1 \
                     ORDER BY created_at, id",
                )
                .bind(account),
            )
            .await?;
        rows.iter().map(factor).collect()
    }

    #[instrument(level = "debug", skip_all, fields(factor.id = id, account.id = %account))]
    async fn confirm(
        &self,
        id: &str,
        account: AccountId,
        step: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE factors SET confirmed_at = $1, last_step = $2, last_used_at = $1 \
                     WHERE id = $3 AND account_id = $4 AND confirmed_at IS NULL",
                )
                .bind(now)
                .bind(step)
                .bind(id)
                .bind(account),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(factor.id = id, account.id = %account))]
    async fn confirm_with_secret(
        &self,
        id: &str,
        account: AccountId,
        secret_ct: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE factors SET confirmed_at = $1, secret_ct = $2, last_used_at = $1 \
                     WHERE id = $3 AND account_id = $4 AND confirmed_at IS NULL",
                )
                .bind(now)
                .bind(secret_ct)
                .bind(id)
                .bind(account),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(factor.id = id))]
    async fn update_secret(
        &self,
        id: &str,
        secret_ct: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE factors SET secret_ct = $1, last_used_at = $2 \
                     WHERE id = $3 AND confirmed_at IS NOT NULL")
                .bind(secret_ct)
                .bind(now)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(factor.id = id))]
    async fn advance_step(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE factors SET last_step = $1, last_used_at = $2 \
                     WHERE id = $3 AND confirmed_at IS NOT NULL \
                     AND (last_step IS NULL OR last_step < $1)")
                .bind(step)
                .bind(now)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(factor.id = id, account.id = %account))]
    async fn delete(&self, id: &str, account: AccountId) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("DELETE FROM factors WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, factor.kind = %kind))]
    async fn delete_unconfirmed(
        &self,
        account: AccountId,
        kind: FactorKind,
        before: i64,
    ) -> Result<u64, StoreError> {
        self.execute(
            sql("DELETE FROM factors WHERE account_id = $1 AND kind = $2 \
                 AND confirmed_at IS NULL AND created_at < $3")
            .bind(account)
            .bind(kind.as_str())
            .bind(before),
        )
        .await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, codes = hashes.len()))]
    async fn replace_recovery_codes(
        &self,
        account: AccountId,
        hashes: &[Vec<u8>],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(sql("DELETE FROM recovery_codes WHERE account_id = $1").bind(account))
            .await?;
        for hash in hashes {
            tx.execute(
                sql(
                    "INSERT INTO recovery_codes (account_id, code_hash, created_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(account)
                .bind(hash)
                .bind(now),
            )
            .await?;
        }
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account))]
    async fn use_recovery_code(
        &self,
        account: AccountId,
        hash: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE recovery_codes SET used_at = $1 \
                     WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL")
                .bind(now)
                .bind(account)
                .bind(hash),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account))]
    async fn recovery_codes_left(&self, account: AccountId) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(
                sql("SELECT COUNT(*) AS n FROM recovery_codes \
                     WHERE account_id = $1 AND used_at IS NULL")
                .bind(account),
            )
            .await?;
        row.get("n")
    }
}
