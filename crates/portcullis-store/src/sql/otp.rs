//! [`OtpRepo`]: the `otp_codes` table of codes sent by e-mail or SMS, kept only as keyed hashes.
//!
//! The address a code was sent to (`target`) is personal data: spans here name the account and
//! the channel, never the target.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use subtle::ConstantTimeEq as _;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::model::OtpOutcome;
use crate::repo::OtpRepo;

#[async_trait]
impl<DB: Backend> OtpRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(otp.id = id, account.id = %account, channel = channel))]
    async fn issue(
        &self,
        id: &str,
        account: AccountId,
        channel: &str,
        target: &str,
        code_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            sql("UPDATE otp_codes SET used_at = $1 \
                 WHERE account_id = $2 AND channel = $3 AND target = $4 AND used_at IS NULL")
            .bind(now)
            .bind(account)
            .bind(channel)
            .bind(target),
        )
        .await?;
        tx.execute(
            sql(
                "INSERT INTO otp_codes (id, account_id, channel, target, code_hash, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(account)
            .bind(channel)
            .bind(target)
            .bind(code_hash)
            .bind(now)
            .bind(expires_at),
        )
        .await?;
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, channel = channel))]
    async fn sent_since(
        &self,
        account: AccountId,
        channel: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = self
            .fetch_one(
                sql("SELECT COUNT(*) AS n FROM otp_codes \
                     WHERE account_id = $1 AND channel = $2 AND created_at >= $3")
                .bind(account)
                .bind(channel)
                .bind(since),
            )
            .await?;
        row.get("n")
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, channel = channel))]
    async fn check(
        &self,
        account: AccountId,
        channel: &str,
        target: &str,
        code_hash: &[u8],
        now: i64,
        max_attempts: i64,
    ) -> Result<OtpOutcome, StoreError> {
        let live = self
            .fetch_optional(
                sql("SELECT id, code_hash FROM otp_codes \
                     WHERE account_id = $1 AND channel = $2 AND target = $3 AND used_at IS NULL \
                     AND expires_at > $4 AND attempts < $5 \
                     ORDER BY created_at DESC LIMIT 1")
                .bind(account)
                .bind(channel)
                .bind(target)
                .bind(now)
                .bind(max_attempts),
            )
            .await?;
        let Some(live) = live else {
            return Ok(OtpOutcome::NoLiveCode);
        };
        let id: String = live.get("id")?;
        let stored: Vec<u8> = live.get("code_hash")?;
        if bool::from(stored.ct_eq(code_hash)) {
            // Conditional, so of two concurrent right answers only one spends the code.
            let spent = self
                .execute(
                    sql("UPDATE otp_codes SET used_at = $1 \
                         WHERE id = $2 AND used_at IS NULL AND attempts < $3")
                    .bind(now)
                    .bind(&id)
                    .bind(max_attempts),
                )
                .await?;
            Ok(if spent == 1 {
                OtpOutcome::Accepted
            } else {
                OtpOutcome::NoLiveCode
            })
        } else {
            self.execute(
                sql("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1").bind(&id),
            )
            .await?;
            Ok(OtpOutcome::Wrong)
        }
    }
}
