//! [`EmailTokenRepo`]: the `email_tokens` table of single-use links, kept only as hashes.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use portcullis_core::secret::TokenHash;
use tracing::instrument;

use super::backend::{Backend, Row};
use super::{SqlStore, account_id, backend::sql};
use crate::error::StoreError;
use crate::repo::EmailTokenRepo;

fn owner<DB: Backend>(row: Option<Row<DB>>) -> Result<Option<AccountId>, StoreError> {
    row.map(|r| account_id(&r.get::<String>("account_id")?))
        .transpose()
}

#[async_trait]
impl<DB: Backend> EmailTokenRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(account.id = %account, purpose = purpose))]
    async fn insert(
        &self,
        hash: &TokenHash,
        account: AccountId,
        purpose: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            sql(
                "INSERT INTO email_tokens (hash, account_id, purpose, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash)
            .bind(account)
            .bind(purpose)
            .bind(now)
            .bind(expires_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(purpose = purpose))]
    async fn consume(
        &self,
        hash: &TokenHash,
        purpose: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError> {
        let row = self
            .fetch_optional(
                sql("UPDATE email_tokens SET used_at = $1 \
                     WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING account_id")
                .bind(now)
                .bind(hash)
                .bind(purpose),
            )
            .await?;
        owner(row)
    }

    #[instrument(level = "debug", skip_all, fields(purpose = purpose))]
    async fn peek(
        &self,
        hash: &TokenHash,
        purpose: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError> {
        let row = self
            .fetch_optional(
                sql("SELECT account_id FROM email_tokens \
                     WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3")
                .bind(hash)
                .bind(purpose)
                .bind(now),
            )
            .await?;
        owner(row)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, purpose = purpose))]
    async fn invalidate(
        &self,
        account: AccountId,
        purpose: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE email_tokens SET used_at = $1 \
                 WHERE account_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(account)
            .bind(purpose),
        )
        .await?;
        Ok(())
    }
}
