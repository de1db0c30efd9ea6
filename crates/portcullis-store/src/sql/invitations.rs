//! [`InvitationRepo`]: the `dualconfirm_invitations` table. The invited address is kept as
//! its blind index and sealed by the keyring; the bounds on an advisor's invitations are
//! checked by the statement that inserts one.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, account_id};
use crate::error::StoreError;
use crate::model::{InvitationRecord, InvitationStatus};
use crate::repo::{InvitationBounds, InvitationCounts, InvitationRepo};

/// Columns of `dualconfirm_invitations`, as [`invitation`] reads them.
macro_rules! columns {
    () => {
        "id, advisor_id, email_index, email_sealed, language, status, created_at, expires_at"
    };
}

fn invitation<DB: Backend>(r: &Row<DB>) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        id: r.get("id")?,
        advisor: account_id(&r.get::<String>("advisor_id")?)?,
        email_index: r.get("email_index")?,
        email_sealed: r.get("email_sealed")?,
        language: r.get("language")?,
        status: r
            .get::<String>("status")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

#[async_trait]
impl<DB: Backend> InvitationRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(invitation.id = %i.id, advisor.id = %i.advisor))]
    async fn create(
        &self,
        i: &InvitationRecord,
        bounds: InvitationBounds,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            sql("DELETE FROM dualconfirm_invitations WHERE advisor_id = $1 \
                 AND (status <> 'pending' OR expires_at <= $2) AND created_at <= $3")
            .bind(i.advisor)
            .bind(now)
            .bind(bounds.since),
        )
        .await?;
        let inserted = self
            .execute(
                sql(concat!(
                    "INSERT INTO dualconfirm_invitations (",
                    columns!(),
                    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE \
                     (SELECT COUNT(*) FROM dualconfirm_invitations WHERE advisor_id = $2 \
                       AND status = 'pending' AND expires_at > $9) < $10 \
                     AND (SELECT COUNT(*) FROM dualconfirm_invitations WHERE advisor_id = $2 \
                       AND created_at > $11) < $12"
                ))
                .bind(&i.id)
                .bind(i.advisor)
                .bind(&i.email_index)
                .bind(&i.email_sealed)
                .bind(&i.language)
                .bind(i.status.as_str())
                .bind(i.created_at)
                .bind(i.expires_at)
                .bind(now)
                .bind(i64::from(bounds.max_pending))
                .bind(bounds.since)
                .bind(i64::from(bounds.max_recent)),
            )
            .await?;
        Ok(inserted == 1)
    }

    #[instrument(level = "debug", skip_all, fields(advisor.id = %advisor))]
    async fn counts(
        &self,
        advisor: AccountId,
        since: i64,
        now: i64,
    ) -> Result<InvitationCounts, StoreError> {
        let pending = self
            .fetch_one(
                sql(
                    "SELECT COUNT(*) AS n, MIN(expires_at) AS first FROM dualconfirm_invitations \
                     WHERE advisor_id = $1 AND status = 'pending' AND expires_at > $2",
                )
                .bind(advisor)
                .bind(now),
            )
            .await?;
        let recent = self
            .fetch_one(
                sql(
                    "SELECT COUNT(*) AS n, MIN(created_at) AS first FROM dualconfirm_invitations \
                     WHERE advisor_id = $1 AND created_at > $2",
                )
                .bind(advisor)
                .bind(since),
            )
            .await?;
        Ok(InvitationCounts {
            pending: count(pending.get("n")?),
            first_expiry: pending.get("first")?,
            recent: count(recent.get("n")?),
            first_recent: recent.get("first")?,
        })
    }

    #[instrument(level = "debug", skip_all, fields(invitation.id = id))]
    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_invitations WHERE id = $1"
        ));
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(invitation).transpose()
    }

    #[instrument(level = "debug", skip_all, fields(advisor.id = %advisor))]
    async fn pending_of(
        &self,
        advisor: AccountId,
        now: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_invitations WHERE advisor_id = $1 AND status = 'pending' \
             AND expires_at > $2 ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q.bind(advisor).bind(now)).await?;
        rows.iter().map(invitation).collect()
    }

    #[instrument(level = "debug", skip_all)]
    async fn pending_for(
        &self,
        email_index: &[u8],
        now: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_invitations WHERE email_index = $1 AND status = 'pending' \
             AND expires_at > $2 ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q.bind(email_index).bind(now)).await?;
        rows.iter().map(invitation).collect()
    }

    #[instrument(level = "debug", skip_all, fields(invitation.id = id, status = status.as_str()))]
    async fn close(&self, id: &str, status: InvitationStatus) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE dualconfirm_invitations SET status = $1 \
                     WHERE id = $2 AND status = 'pending'")
                .bind(status.as_str())
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }
}
