//! [`SessionRepo`]: the `sessions` table and the refresh-token families in `refresh_tokens`.
//!
//! Every write that ends or extends a session is conditional on the session still being live
//! (`revoked_at IS NULL` and both expiries ahead), so a revocation committed by another node is
//! never undone by a late touch, step-up or refresh.

use async_trait::async_trait;
use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::secret::TokenHash;
use tracing::instrument;

use super::backend::{Backend, Row, Tx, sql};
use super::{SqlStore, account_id, from_json_list, session_id, to_json_list};
use crate::error::StoreError;
use crate::model::{RefreshOutcome, SessionRecord, WalletBinding};
use crate::repo::SessionRepo;

/// Columns of `sessions`, as [`session`] reads them.
macro_rules! columns {
    () => {
        "id, account_id, acr, amr, auth_time, created_at, last_seen_at, idle_expires_at, \
         absolute_expires_at, revoked_at, user_agent, ip, dpop_jkt, wallet, req_token"
    };
}

fn session<DB: Backend>(r: &Row<DB>) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: session_id(&r.get::<String>("id")?)?,
        account_id: account_id(&r.get::<String>("account_id")?)?,
        acr: r.get("acr")?,
        amr: from_json_list(&r.get::<String>("amr")?)?,
        auth_time: r.get("auth_time")?,
        created_at: r.get("created_at")?,
        last_seen_at: r.get("last_seen_at")?,
        idle_expires_at: r.get("idle_expires_at")?,
        absolute_expires_at: r.get("absolute_expires_at")?,
        revoked_at: r.get("revoked_at")?,
        user_agent: r.get("user_agent")?,
        ip: r.get("ip")?,
        wallet: wallet_binding(r)?,
    })
}

/// The wallet columns: address and ReqNFT set together (the thumbprint only for a
/// DPoP-bound session), or none.
fn wallet_binding<DB: Backend>(r: &Row<DB>) -> Result<Option<WalletBinding>, StoreError> {
    let jkt: Option<String> = r.get("dpop_jkt")?;
    let address: Option<String> = r.get("wallet")?;
    let req_token: Option<String> = r.get("req_token")?;
    Ok(match (jkt, address, req_token) {
        (jkt, Some(address), Some(req_token)) => Some(WalletBinding {
            jkt,
            address,
            req_token,
        }),
        _ => None,
    })
}

#[async_trait]
impl<DB: Backend> SessionRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(session.id = %x.id, account.id = %x.account_id))]
    async fn create(
        &self,
        x: &SessionRecord,
        refresh: &TokenHash,
        refresh_expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            sql(concat!(
                "INSERT INTO sessions (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ))
            .bind(x.id)
            .bind(x.account_id)
            .bind(&x.acr)
            .bind(to_json_list(&x.amr)?)
            .bind(x.auth_time)
            .bind(x.created_at)
            .bind(x.last_seen_at)
            .bind(x.idle_expires_at)
            .bind(x.absolute_expires_at)
            .bind(x.revoked_at)
            .bind(&x.user_agent)
            .bind(&x.ip)
            .bind(x.wallet.as_ref().and_then(|w| w.jkt.clone()))
            .bind(x.wallet.as_ref().map(|w| w.address.clone()))
            .bind(x.wallet.as_ref().map(|w| w.req_token.clone())),
        )
        .await?;
        tx.execute(
            sql(
                "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(refresh)
            .bind(x.id)
            .bind(x.created_at)
            .bind(refresh_expires_at),
        )
        .await?;
        tx.commit().await
    }

    #[instrument(level = "debug", skip_all, fields(session.id = %id))]
    async fn get(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM sessions WHERE id = $1"
        ));
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(session).transpose()
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account))]
    async fn list_live(
        &self,
        account: AccountId,
        now: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
             AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        ));
        let rows = self.fetch_all(q.bind(account).bind(now)).await?;
        rows.iter().map(session).collect()
    }

    #[instrument(level = "debug", skip_all, fields(session.id = %id))]
    async fn touch(&self, id: SessionId, now: i64, idle_secs: i64) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE sessions SET last_seen_at = $1, idle_expires_at = \
                 CASE WHEN $2 < absolute_expires_at THEN $2 ELSE absolute_expires_at END \
                 WHERE id = $3 AND revoked_at IS NULL \
                 AND idle_expires_at > $1 AND absolute_expires_at > $1")
            .bind(now)
            .bind(now + idle_secs)
            .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(session.id = %id, reason = reason))]
    async fn revoke(&self, id: SessionId, reason: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                     WHERE id = $3 AND revoked_at IS NULL")
                .bind(now)
                .bind(reason)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(account.id = %account, reason = reason))]
    async fn revoke_all(
        &self,
        account: AccountId,
        except: Option<SessionId>,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let except = except.map(|e| e.to_string()).unwrap_or_default();
        self.execute(
            sql("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                 WHERE account_id = $3 AND id <> $4 AND revoked_at IS NULL")
            .bind(now)
            .bind(reason)
            .bind(account)
            .bind(except),
        )
        .await
    }

    #[instrument(level = "debug", skip_all, fields(since = since, limit = limit))]
    async fn revoked_since(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<(SessionId, i64)>, StoreError> {
        let rows = self
            .fetch_all(
                sql(
                    "SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 \
                     ORDER BY revoked_at, id LIMIT $2",
                )
                .bind(since)
                .bind(limit),
            )
            .await?;
        rows.iter()
            .map(|r| Ok((session_id(&r.get::<String>("id")?)?, r.get("revoked_at")?)))
            .collect()
    }

    #[instrument(level = "debug", skip_all, fields(session.id = %id, acr = acr))]
    async fn elevate(
        &self,
        id: SessionId,
        acr: &str,
        amr: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql(
                    "UPDATE sessions SET acr = $1, amr = $2, auth_time = $3, last_seen_at = $3 \
                     WHERE id = $4 AND revoked_at IS NULL \
                     AND idle_expires_at > $3 AND absolute_expires_at > $3",
                )
                .bind(acr)
                .bind(to_json_list(amr)?)
                .bind(now)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(session.id = tracing::field::Empty))]
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
        idle_secs: i64,
        new_expires_at: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut tx = self.begin().await?;
        // The conditional UPDATE is the arbiter: of two concurrent presentations only one
        // finds `used_at IS NULL`.
        let spent = tx
            .fetch_optional(
                sql("UPDATE refresh_tokens SET used_at = $1 \
                     WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING session_id")
                .bind(now)
                .bind(old),
            )
            .await?;
        let Some(spent) = spent else {
            let outcome = revoke_on_reuse(&mut tx, old, now).await?;
            tx.commit().await?;
            return Ok(outcome);
        };
        let sid: String = spent.get("session_id")?;
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM sessions WHERE id = $1"
        ));
        let row = tx.fetch_optional(q.bind(&sid)).await?;
        let Some(session) = row.as_ref().map(session).transpose()? else {
            tx.rollback().await?;
            return Ok(RefreshOutcome::Invalid);
        };
        if !session.is_live(now) {
            tx.commit().await?;
            return Ok(RefreshOutcome::Invalid);
        }
        tracing::Span::current().record("session.id", tracing::field::display(session.id));
        let extended = extend_family(&mut tx, session, new, now, idle_secs, new_expires_at).await?;
        match extended {
            Some(session) => {
                tx.commit().await?;
                Ok(RefreshOutcome::Rotated(session))
            }
            None => {
                tx.rollback().await?;
                Ok(RefreshOutcome::Invalid)
            }
        }
    }
}

/// Adds `new` to the live `session`'s refresh family and moves its idle expiry; `None` when a
/// revocation committed since the session was read (the caller then rolls back).
async fn extend_family<DB: Backend>(
    tx: &mut Tx<DB>,
    session: SessionRecord,
    new: &TokenHash,
    now: i64,
    idle_secs: i64,
    new_expires_at: i64,
) -> Result<Option<SessionRecord>, StoreError> {
    tx.execute(
        sql(
            "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(new)
        .bind(session.id)
        .bind(now)
        .bind(new_expires_at),
    )
    .await?;
    let idle = (now + idle_secs).min(session.absolute_expires_at);
    // Conditional, so a revocation committed since the read wins.
    let touched = tx
        .execute(
            sql(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
                 WHERE id = $3 AND revoked_at IS NULL \
                 AND idle_expires_at > $1 AND absolute_expires_at > $1",
            )
            .bind(now)
            .bind(idle)
            .bind(session.id),
        )
        .await?;
    Ok((touched == 1).then_some(SessionRecord {
        last_seen_at: now,
        idle_expires_at: idle,
        ..session
    }))
}

/// A refresh token that was not live: if it was spent before, it is being replayed, and its
/// whole family (the session) is revoked; otherwise it is simply invalid.
async fn revoke_on_reuse<DB: Backend>(
    tx: &mut Tx<DB>,
    old: &TokenHash,
    now: i64,
) -> Result<RefreshOutcome, StoreError> {
    let prior = tx
        .fetch_optional(
            sql("SELECT session_id, used_at FROM refresh_tokens WHERE hash = $1").bind(old),
        )
        .await?;
    let Some(prior) = prior else {
        return Ok(RefreshOutcome::Invalid);
    };
    if prior.get::<Option<i64>>("used_at")?.is_none() {
        return Ok(RefreshOutcome::Invalid);
    }
    let sid: String = prior.get("session_id")?;
    tx.execute(
        sql(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = 'refresh_reuse' \
             WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&sid),
    )
    .await?;
    Ok(RefreshOutcome::Reused(session_id(&sid)?))
}
