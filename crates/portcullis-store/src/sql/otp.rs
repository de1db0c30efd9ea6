//! [`OtpRepo`]: the `otp_codes` table of codes sent by e-mail or SMS, kept only as keyed hashes.
//!
//! A check takes one of the code's attempts before it compares (a wrong answer keeps it
//! counted), so concurrent checks cannot compare more codes than the bound allows.
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
        // Take one attempt on the newest live code first, in one statement, and compare
        // only then: of concurrent checks at most `max_attempts` in all get a code to compare.
        let live = self
            .fetch_optional(
                sql("UPDATE otp_codes SET attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM otp_codes \
                                 WHERE account_id = $1 AND channel = $2 AND target = $3 \
                                 AND used_at IS NULL AND expires_at > $4 \
                                 ORDER BY created_at DESC LIMIT 1) \
                     AND used_at IS NULL AND attempts < $5 \
                     RETURNING id, code_hash")
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
        if !bool::from(stored.ct_eq(code_hash)) {
            return Ok(OtpOutcome::Wrong);
        }
        // Conditional, so of two concurrent right answers only one spends the code.
        let spent = self
            .execute(
                sql("UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(&id),
            )
            .await?;
        Ok(if spent == 1 {
            OtpOutcome::Accepted
        } else {
            OtpOutcome::NoLiveCode
        })
    }
}
