//! One body of SQL for both backends.
//!
//! SQLite and PostgreSQL both accept `$n` placeholders, `RETURNING`, `ON CONFLICT` and the
//! column types chosen in the migrations (text ids, integer unix seconds, byte blobs), so the
//! repositories are written once in [`sql_backend!`] and instantiated per backend with its
//! own pool type. Each backend keeps its own migration folder.

pub(crate) mod clients;
pub(crate) mod pairs;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use portcullis_core::audit::{AuditEvent, AuditRecord};
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::{AccountId, SessionId};

use crate::error::StoreError;
use crate::model::{AccountRecord, FactorRecord, SessionRecord};

pub(crate) fn parse_account_id(s: &str) -> Result<AccountId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad account id {s:?}")))
}

pub(crate) fn parse_session_id(s: &str) -> Result<SessionId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad session id {s:?}")))
}

pub(crate) fn to_json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn from_json_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("bad list: {e}")))
}

pub(crate) fn hash32(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}

/// Raw columns of an `accounts` row, decoded into a record.
#[expect(clippy::too_many_arguments, reason = "one argument per column")]
pub(crate) fn account(
    id: String,
    email_index: Option<Vec<u8>>,
    email_ct: Vec<u8>,
    phone_ct: Option<Vec<u8>>,
    display_name_ct: Option<Vec<u8>>,
    password_hash: String,
    status: String,
    roles: String,
    created_at: i64,
    updated_at: i64,
    verified_at: Option<i64>,
) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        id: parse_account_id(&id)?,
        email_index,
        email_ct,
        phone_ct,
        display_name_ct,
        password_hash,
        status: status.parse().map_err(StoreError::Corrupt)?,
        roles: from_json_list(&roles)?,
        created_at,
        updated_at,
        verified_at,
    })
}

/// Raw columns of a `sessions` row, decoded into a record.
#[expect(clippy::too_many_arguments, reason = "one argument per column")]
pub(crate) fn session(
    id: String,
    account_id: String,
    acr: String,
    amr: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: parse_session_id(&id)?,
        account_id: parse_account_id(&account_id)?,
        acr,
        amr: from_json_list(&amr)?,
        auth_time,
        created_at,
        last_seen_at,
        idle_expires_at,
        absolute_expires_at,
        revoked_at,
        user_agent,
        ip,
    })
}

/// Raw columns of a `factors` row, decoded into a record.
#[expect(clippy::too_many_arguments, reason = "one argument per column")]
pub(crate) fn factor(
    id: String,
    account_id: String,
    kind: String,
    label: String,
    secret_ct: Option<Vec<u8>>,
    last_step: Option<i64>,
    created_at: i64,
    confirmed_at: Option<i64>,
    last_used_at: Option<i64>,
) -> Result<FactorRecord, StoreError> {
    Ok(FactorRecord {
        id,
        account_id: parse_account_id(&account_id)?,
        kind: kind
            .parse::<FactorKind>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        label,
        secret_ct,
        last_step,
        created_at,
        confirmed_at,
        last_used_at,
    })
}

/// Raw columns of an `audit_log` row, decoded into a record.
#[expect(clippy::too_many_arguments, reason = "one argument per column")]
pub(crate) fn audit(
    seq: i64,
    at: i64,
    event: String,
    actor: Option<String>,
    subject: Option<String>,
    ip: Option<String>,
    detail: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq,
        at,
        event: AuditEvent {
            event,
            actor,
            subject,
            ip,
            detail: serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("bad audit detail: {e}")))?,
        },
        prev_hash: hash32(prev_hash)?,
        hash: hash32(hash)?,
    })
}

/// Column list of `accounts`, in the order [`account`] decodes.
macro_rules! account_columns {
    () => {
        "id, email_index, email_ct, phone_ct, display_name_ct, password_hash, status, roles, created_at, updated_at, verified_at"
    };
}
/// Column list of `sessions`, in the order [`session`] decodes.
macro_rules! session_columns {
    () => {
        "id, account_id, acr, amr, auth_time, created_at, last_seen_at, idle_expires_at, absolute_expires_at, revoked_at, user_agent, ip"
    };
}
pub(crate) use {account_columns, session_columns};

/// Implements every repository trait for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! sql_backend {
    ($store:ident, $db:ty, $name:literal) => {
        mod repos {
            use async_trait::async_trait;
            use portcullis_core::audit::{self, AuditEvent, AuditRecord};
            use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
            use portcullis_core::login::Challenge;
            use portcullis_core::secret::TokenHash;
            use sqlx::Row as _;

            use super::$store;
            use crate::error::StoreError;
            use crate::keyring::WrappedKey;
            use crate::model::{AccountRecord, AccountStatus, OutboxItem, RefreshOutcome, SessionRecord};
            use crate::repo::*;
            use crate::sql::{self as s, account_columns, session_columns};

            type DbRow = <$db as sqlx::Database>::Row;

            fn account_row(r: &DbRow) -> Result<AccountRecord, StoreError> {
                s::account(
                    r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?,
                    r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?,
                    r.try_get(10)?,
                )
            }

            fn session_row(r: &DbRow) -> Result<SessionRecord, StoreError> {
                s::session(
                    r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?,
                    r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?,
                    r.try_get(10)?, r.try_get(11)?,
                )
            }

            fn audit_row(r: &DbRow) -> Result<AuditRecord, StoreError> {
                s::audit(
                    r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?,
                    r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?,
                )
            }

            #[async_trait]
            impl AccountRepo for $store {
                async fn create(&self, a: &AccountRecord, key: &WrappedKey) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(concat!("INSERT INTO accounts (", account_columns!(), ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"))
                        .bind(a.id.to_string()).bind(&a.email_index).bind(&a.email_ct).bind(&a.phone_ct)
                        .bind(&a.display_name_ct).bind(&a.password_hash).bind(a.status.as_str())
                        .bind(s::to_json_list(&a.roles)).bind(a.created_at).bind(a.updated_at).bind(a.verified_at)
                        .execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO account_keys (account_id, master_version, wrapped) VALUES ($1,$2,$3)")
                        .bind(a.id.to_string()).bind(i64::from(key.master_version)).bind(&key.bytes)
                        .execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn get(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
                    let row = sqlx::query(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1"))
                        .bind(id.to_string()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(account_row).transpose()
                }

                async fn find_by_email_index(&self, index: &[u8]) -> Result<Option<AccountRecord>, StoreError> {
                    let row = sqlx::query(concat!("SELECT ", account_columns!(), " FROM accounts WHERE email_index = $1"))
                        .bind(index).fetch_optional(&self.pool).await?;
                    row.as_ref().map(account_row).transpose()
                }

                async fn list(&self, limit: i64, offset: i64) -> Result<Vec<AccountRecord>, StoreError> {
                    let rows = sqlx::query(concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY created_at, id LIMIT $1 OFFSET $2"))
                        .bind(limit).bind(offset).fetch_all(&self.pool).await?;
                    rows.iter().map(account_row).collect()
                }

                async fn update_pii(&self, a: &AccountRecord, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE accounts SET email_index = $1, email_ct = $2, phone_ct = $3, display_name_ct = $4, updated_at = $5 WHERE id = $6")
                        .bind(&a.email_index).bind(&a.email_ct).bind(&a.phone_ct).bind(&a.display_name_ct)
                        .bind(now).bind(a.id.to_string()).execute(&self.pool).await?;
                    Ok(())
                }

                async fn set_password_hash(&self, id: AccountId, hash: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
                        .bind(hash).bind(now).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(())
                }

                async fn set_status(&self, id: AccountId, status: AccountStatus, now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3 AND status <> 'deleted'")
                        .bind(status.as_str()).bind(now).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn set_roles(&self, id: AccountId, roles: &[String], now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE accounts SET roles = $1, updated_at = $2 WHERE id = $3 AND status <> 'deleted'")
                        .bind(s::to_json_list(roles)).bind(now).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn mark_verified(&self, id: AccountId, now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE accounts SET status = 'active', verified_at = $1, updated_at = $1 WHERE id = $2 AND status = 'pending'")
                        .bind(now).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn shred(&self, id: AccountId, now: i64) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("DELETE FROM account_keys WHERE account_id = $1")
                        .bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("UPDATE accounts SET status = 'deleted', email_index = NULL, password_hash = '', roles = '[]', updated_at = $1 WHERE id = $2")
                        .bind(now).bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'account_deleted' WHERE account_id = $2 AND revoked_at IS NULL")
                        .bind(now).bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL")
                        .bind(now).bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM factors WHERE account_id = $1")
                        .bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                        .bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM otp_codes WHERE account_id = $1")
                        .bind(id.to_string()).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM dualconfirm_pairs WHERE advisor_id = $1 OR client_id = $1")
                        .bind(id.to_string()).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn data_key(&self, id: AccountId) -> Result<Option<WrappedKey>, StoreError> {
                    let row = sqlx::query("SELECT master_version, wrapped FROM account_keys WHERE account_id = $1")
                        .bind(id.to_string()).fetch_optional(&self.pool).await?;
                    row.map(|r| wrapped(r.try_get(0)?, r.try_get(1)?)).transpose()
                }

                async fn all_data_keys(&self) -> Result<Vec<(AccountId, WrappedKey)>, StoreError> {
                    let rows = sqlx::query("SELECT account_id, master_version, wrapped FROM account_keys ORDER BY account_id")
                        .fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| Ok((s::parse_account_id(&r.try_get::<String, _>(0)?)?, wrapped(r.try_get(1)?, r.try_get(2)?)?)))
                        .collect()
                }

                async fn replace_data_key(&self, id: AccountId, key: &WrappedKey) -> Result<(), StoreError> {
                    sqlx::query("UPDATE account_keys SET master_version = $1, wrapped = $2 WHERE account_id = $3")
                        .bind(i64::from(key.master_version)).bind(&key.bytes).bind(id.to_string())
                        .execute(&self.pool).await?;
                    Ok(())
                }
            }

            fn wrapped(version: i64, bytes: Vec<u8>) -> Result<WrappedKey, StoreError> {
                let master_version = u32::try_from(version)
                    .map_err(|_| StoreError::Corrupt("bad master version".into()))?;
                Ok(WrappedKey { master_version, bytes })
            }

            #[async_trait]
            impl EmailTokenRepo for $store {
                async fn insert(&self, hash: &TokenHash, account: AccountId, purpose: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO email_tokens (hash, account_id, purpose, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)")
                        .bind(hash.as_bytes().as_slice()).bind(account.to_string()).bind(purpose).bind(now).bind(expires_at)
                        .execute(&self.pool).await?;
                    Ok(())
                }

                async fn consume(&self, hash: &TokenHash, purpose: &str, now: i64) -> Result<Option<AccountId>, StoreError> {
                    let row = sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING account_id")
                        .bind(now).bind(hash.as_bytes().as_slice()).bind(purpose).fetch_optional(&self.pool).await?;
                    row.map(|r| s::parse_account_id(&r.try_get::<String, _>(0)?)).transpose()
                }

                async fn peek(&self, hash: &TokenHash, purpose: &str, now: i64) -> Result<Option<AccountId>, StoreError> {
                    let row = sqlx::query("SELECT account_id FROM email_tokens WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3")
                        .bind(hash.as_bytes().as_slice()).bind(purpose).bind(now).fetch_optional(&self.pool).await?;
                    row.map(|r| s::parse_account_id(&r.try_get::<String, _>(0)?)).transpose()
                }

                async fn invalidate(&self, account: AccountId, purpose: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE account_id = $2 AND purpose = $3 AND used_at IS NULL")
                        .bind(now).bind(account.to_string()).bind(purpose).execute(&self.pool).await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl SessionRepo for $store {
                async fn create(&self, x: &SessionRecord, refresh: &TokenHash, refresh_expires_at: i64) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(concat!("INSERT INTO sessions (", session_columns!(), ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"))
                        .bind(x.id.to_string()).bind(x.account_id.to_string()).bind(&x.acr).bind(s::to_json_list(&x.amr))
                        .bind(x.auth_time).bind(x.created_at).bind(x.last_seen_at).bind(x.idle_expires_at)
                        .bind(x.absolute_expires_at).bind(x.revoked_at).bind(&x.user_agent).bind(&x.ip)
                        .execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES ($1,$2,$3,$4)")
                        .bind(refresh.as_bytes().as_slice()).bind(x.id.to_string()).bind(x.created_at).bind(refresh_expires_at)
                        .execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn get(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
                    let row = sqlx::query(concat!("SELECT ", session_columns!(), " FROM sessions WHERE id = $1"))
                        .bind(id.to_string()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(session_row).transpose()
                }

                async fn list_live(&self, account: AccountId, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
                    let rows = sqlx::query(concat!("SELECT ", session_columns!(), " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2 ORDER BY created_at DESC, id DESC"))
                        .bind(account.to_string()).bind(now).fetch_all(&self.pool).await?;
                    rows.iter().map(session_row).collect()
                }

                async fn touch(&self, id: SessionId, now: i64, idle_secs: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = CASE WHEN $2 < absolute_expires_at THEN $2 ELSE absolute_expires_at END WHERE id = $3 AND revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1")
                        .bind(now).bind(now + idle_secs).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(())
                }

                async fn revoke(&self, id: SessionId, reason: &str, now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
                        .bind(now).bind(reason).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn revoke_all(&self, account: AccountId, except: Option<SessionId>, reason: &str, now: i64) -> Result<u64, StoreError> {
                    let except = except.map(|e| e.to_string()).unwrap_or_default();
                    let r = sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE account_id = $3 AND id <> $4 AND revoked_at IS NULL")
                        .bind(now).bind(reason).bind(account.to_string()).bind(except).execute(&self.pool).await?;
                    Ok(r.rows_affected())
                }

                async fn revoked_since(&self, since: i64, limit: i64) -> Result<Vec<(SessionId, i64)>, StoreError> {
                    let rows = sqlx::query("SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 ORDER BY revoked_at, id LIMIT $2")
                        .bind(since).bind(limit).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| Ok((s::parse_session_id(&r.try_get::<String, _>(0)?)?, r.try_get(1)?)))
                        .collect()
                }

                async fn elevate(&self, id: SessionId, acr: &str, amr: &[String], now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE sessions SET acr = $1, amr = $2, auth_time = $3, last_seen_at = $3 WHERE id = $4 AND revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3")
                        .bind(acr).bind(s::to_json_list(amr)).bind(now).bind(id.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn rotate_refresh(&self, old: &TokenHash, new: &TokenHash, now: i64, idle_secs: i64, new_expires_at: i64) -> Result<RefreshOutcome, StoreError> {
                    let mut tx = self.pool.begin().await?;
                    // The conditional UPDATE is the arbiter: of two concurrent presentations
                    // only one finds `used_at IS NULL`.
                    let spent = sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING session_id")
                        .bind(now).bind(old.as_bytes().as_slice()).fetch_optional(&mut *tx).await?;
                    let Some(spent) = spent else {
                        let prior = sqlx::query("SELECT session_id, used_at FROM refresh_tokens WHERE hash = $1")
                            .bind(old.as_bytes().as_slice()).fetch_optional(&mut *tx).await?;
                        let outcome = match prior {
                            Some(r) if r.try_get::<Option<i64>, _>(1)?.is_some() => {
                                let sid: String = r.try_get(0)?;
                                sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'refresh_reuse' WHERE id = $2 AND revoked_at IS NULL")
                                    .bind(now).bind(&sid).execute(&mut *tx).await?;
                                RefreshOutcome::Reused(s::parse_session_id(&sid)?)
                            }
                            _ => RefreshOutcome::Invalid,
                        };
                        tx.commit().await?;
                        return Ok(outcome);
                    };
                    let sid: String = spent.try_get(0)?;
                    let row = sqlx::query(concat!("SELECT ", session_columns!(), " FROM sessions WHERE id = $1"))
                        .bind(&sid).fetch_optional(&mut *tx).await?;
                    let Some(session) = row.as_ref().map(session_row).transpose()? else {
                        tx.rollback().await?;
                        return Ok(RefreshOutcome::Invalid);
                    };
                    if !session.is_live(now) {
                        tx.commit().await?;
                        return Ok(RefreshOutcome::Invalid);
                    }
                    sqlx::query("INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES ($1,$2,$3,$4)")
                        .bind(new.as_bytes().as_slice()).bind(&sid).bind(now).bind(new_expires_at)
                        .execute(&mut *tx).await?;
                    let idle = (now + idle_secs).min(session.absolute_expires_at);
                    // Conditional, so a revocation committed since the read above wins.
                    let touched = sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3 AND revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1")
                        .bind(now).bind(idle).bind(&sid).execute(&mut *tx).await?;
                    if touched.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(RefreshOutcome::Invalid);
                    }
                    tx.commit().await?;
                    Ok(RefreshOutcome::Rotated(SessionRecord { last_seen_at: now, idle_expires_at: idle, ..session }))
                }
            }

            fn factor_row(r: &DbRow) -> Result<crate::model::FactorRecord, StoreError> {
                s::factor(
                    r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?,
                    r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?,
                )
            }

            #[async_trait]
            impl FactorRepo for $store {
                async fn insert(&self, f: &crate::model::FactorRecord) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO factors (id, account_id, kind, label, secret_ct, last_step, created_at, confirmed_at, last_used_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                        .bind(&f.id).bind(f.account_id.to_string()).bind(f.kind.as_str()).bind(&f.label).bind(&f.secret_ct)
                        .bind(f.last_step).bind(f.created_at).bind(f.confirmed_at).bind(f.last_used_at)
                        .execute(&self.pool).await?;
                    Ok(())
                }

                async fn list(&self, account: AccountId) -> Result<Vec<crate::model::FactorRecord>, StoreError> {
                    let rows = sqlx::query("SELECT id, account_id, kind, label, secret_ct, last_step, created_at, confirmed_at, last_used_at FROM factors WHERE account_id = $1 ORDER BY created_at, id")
                        .bind(account.to_string()).fetch_all(&self.pool).await?;
                    rows.iter().map(factor_row).collect()
                }

                async fn confirm(&self, id: &str, account: AccountId, step: i64, now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE factors SET confirmed_at = $1, last_step = $2, last_used_at = $1 WHERE id = $3 AND account_id = $4 AND confirmed_at IS NULL")
                        .bind(now).bind(step).bind(id).bind(account.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn confirm_with_secret(&self, id: &str, account: AccountId, secret_ct: &[u8], now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE factors SET confirmed_at = $1, secret_ct = $2, last_used_at = $1 WHERE id = $3 AND account_id = $4 AND confirmed_at IS NULL")
                        .bind(now).bind(secret_ct).bind(id).bind(account.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn update_secret(&self, id: &str, secret_ct: &[u8], now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE factors SET secret_ct = $1, last_used_at = $2 WHERE id = $3 AND confirmed_at IS NOT NULL")
                        .bind(secret_ct).bind(now).bind(id).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn advance_step(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE factors SET last_step = $1, last_used_at = $2 WHERE id = $3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)")
                        .bind(step).bind(now).bind(id).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete(&self, id: &str, account: AccountId) -> Result<bool, StoreError> {
                    let r = sqlx::query("DELETE FROM factors WHERE id = $1 AND account_id = $2")
                        .bind(id).bind(account.to_string()).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete_unconfirmed(&self, account: AccountId, kind: portcullis_core::factor::FactorKind, before: i64) -> Result<u64, StoreError> {
                    let r = sqlx::query("DELETE FROM factors WHERE account_id = $1 AND kind = $2 AND confirmed_at IS NULL AND created_at < $3")
                        .bind(account.to_string()).bind(kind.as_str()).bind(before).execute(&self.pool).await?;
                    Ok(r.rows_affected())
                }

                async fn replace_recovery_codes(&self, account: AccountId, hashes: &[Vec<u8>], now: i64) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                        .bind(account.to_string()).execute(&mut *tx).await?;
                    for hash in hashes {
                        sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1,$2,$3)")
                            .bind(account.to_string()).bind(hash).bind(now).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn use_recovery_code(&self, account: AccountId, hash: &[u8], now: i64) -> Result<bool, StoreError> {
                    let r = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL")
                        .bind(now).bind(account.to_string()).bind(hash).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn recovery_codes_left(&self, account: AccountId) -> Result<i64, StoreError> {
                    let row = sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                        .bind(account.to_string()).fetch_one(&self.pool).await?;
                    Ok(row.try_get(0)?)
                }
            }

            #[async_trait]
            impl OtpRepo for $store {
                async fn issue(&self, id: &str, account: AccountId, channel: &str, target: &str, code_hash: &[u8], now: i64, expires_at: i64) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE account_id = $2 AND channel = $3 AND target = $4 AND used_at IS NULL")
                        .bind(now).bind(account.to_string()).bind(channel).bind(target).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO otp_codes (id, account_id, channel, target, code_hash, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                        .bind(id).bind(account.to_string()).bind(channel).bind(target).bind(code_hash).bind(now).bind(expires_at)
                        .execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn sent_since(&self, account: AccountId, channel: &str, since: i64) -> Result<i64, StoreError> {
                    let row = sqlx::query("SELECT COUNT(*) FROM otp_codes WHERE account_id = $1 AND channel = $2 AND created_at >= $3")
                        .bind(account.to_string()).bind(channel).bind(since).fetch_one(&self.pool).await?;
                    Ok(row.try_get(0)?)
                }

                async fn check(&self, account: AccountId, channel: &str, target: &str, code_hash: &[u8], now: i64, max_attempts: i64) -> Result<crate::model::OtpOutcome, StoreError> {
                    use crate::model::OtpOutcome;
                    use subtle::ConstantTimeEq as _;
                    let row = sqlx::query("SELECT id, code_hash FROM otp_codes WHERE account_id = $1 AND channel = $2 AND target = $3 AND used_at IS NULL AND expires_at > $4 AND attempts < $5 ORDER BY created_at DESC LIMIT 1")
                        .bind(account.to_string()).bind(channel).bind(target).bind(now).bind(max_attempts)
                        .fetch_optional(&self.pool).await?;
                    let Some(row) = row else { return Ok(OtpOutcome::NoLiveCode) };
                    let id: String = row.try_get(0)?;
                    let stored: Vec<u8> = row.try_get(1)?;
                    if bool::from(stored.ct_eq(code_hash)) {
                        let r = sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND attempts < $3")
                            .bind(now).bind(&id).bind(max_attempts).execute(&self.pool).await?;
                        Ok(if r.rows_affected() == 1 { OtpOutcome::Accepted } else { OtpOutcome::NoLiveCode })
                    } else {
                        sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1")
                            .bind(&id).execute(&self.pool).await?;
                        Ok(OtpOutcome::Wrong)
                    }
                }
            }

            #[async_trait]
            impl ChallengeRepo for $store {
                async fn insert(&self, c: &Challenge) -> Result<(), StoreError> {
                    let state = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    sqlx::query("INSERT INTO login_challenges (id, state, version, expires_at) VALUES ($1,$2,0,$3)")
                        .bind(c.id.to_string()).bind(state).bind(c.expires_at).execute(&self.pool).await?;
                    Ok(())
                }

                async fn get(&self, id: ChallengeId) -> Result<Option<(Challenge, i64)>, StoreError> {
                    let row = sqlx::query("SELECT state, version FROM login_challenges WHERE id = $1")
                        .bind(id.to_string()).fetch_optional(&self.pool).await?;
                    row.map(|r| {
                        let state: String = r.try_get(0)?;
                        let c = serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        Ok((c, r.try_get(1)?))
                    }).transpose()
                }

                async fn update(&self, c: &Challenge, version: i64) -> Result<(), StoreError> {
                    let state = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let r = sqlx::query("UPDATE login_challenges SET state = $1, version = version + 1 WHERE id = $2 AND version = $3")
                        .bind(state).bind(c.id.to_string()).bind(version).execute(&self.pool).await?;
                    if r.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Concurrent) }
                }

                async fn delete(&self, id: ChallengeId) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM login_challenges WHERE id = $1").bind(id.to_string()).execute(&self.pool).await?;
                    Ok(())
                }

                async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
                    let r = sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
                    Ok(r.rows_affected())
                }
            }

            #[async_trait]
            impl ThrottleRepo for $store {
                async fn get(&self, key: &[u8]) -> Result<Option<(i64, i64)>, StoreError> {
                    let row = sqlx::query("SELECT failures, last_failure_at FROM login_throttle WHERE key = $1")
                        .bind(key).fetch_optional(&self.pool).await?;
                    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
                }

                async fn record_failure(&self, key: &[u8], now: i64) -> Result<i64, StoreError> {
                    let row = sqlx::query("INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, last_failure_at = $2 RETURNING failures")
                        .bind(key).bind(now).fetch_one(&self.pool).await?;
                    Ok(row.try_get(0)?)
                }

                async fn clear(&self, key: &[u8]) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(&self.pool).await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl OutboxRepo for $store {
                async fn enqueue(&self, id: &str, payload: &[u8], now: i64) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO outbox (id, payload, attempts, next_attempt_at, created_at) VALUES ($1,$2,0,$3,$3)")
                        .bind(id).bind(payload).bind(now).execute(&self.pool).await?;
                    Ok(())
                }

                async fn claim_due(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
                    let rows = sqlx::query("UPDATE outbox SET claimed_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND dead = FALSE AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at LIMIT $3) AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1) RETURNING id, payload, attempts")
                        .bind(now).bind(lease_until).bind(limit).fetch_all(&self.pool).await?;
                    rows.iter().map(|r| Ok(OutboxItem { id: r.try_get(0)?, payload: r.try_get(1)?, attempts: r.try_get(2)? })).collect()
                }

                async fn mark_sent(&self, id: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE outbox SET sent_at = $1, payload = $2, claimed_until = NULL WHERE id = $3")
                        .bind(now).bind(Vec::<u8>::new()).bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn mark_failed(&self, id: &str, next_attempt_at: i64, error: &str, dead: bool) -> Result<(), StoreError> {
                    sqlx::query("UPDATE outbox SET next_attempt_at = $1, last_error = $2, dead = $3, claimed_until = NULL, payload = CASE WHEN $3 THEN $4 ELSE payload END WHERE id = $5")
                        .bind(next_attempt_at).bind(error).bind(dead).bind(Vec::<u8>::new()).bind(id).execute(&self.pool).await?;
                    Ok(())
                }

                async fn backlog(&self) -> Result<i64, StoreError> {
                    let row = sqlx::query("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND dead = FALSE").fetch_one(&self.pool).await?;
                    Ok(row.try_get(0)?)
                }
            }

            #[async_trait]
            impl AuditRepo for $store {
                async fn append(&self, at: i64, event: AuditEvent) -> Result<AuditRecord, StoreError> {
                    let mut tx = self.pool.begin().await?;
                    // Taking the head row first serialises appenders on both backends.
                    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                        .fetch_one(&mut *tx).await?;
                    let seq: i64 = head.try_get(0)?;
                    let prev = s::hash32(head.try_get(1)?)?;
                    let record = audit::chain((seq > 1).then_some((seq - 1, prev)), at, event);
                    if record.seq != seq {
                        return Err(StoreError::Corrupt("audit head out of step".into()));
                    }
                    sqlx::query("INSERT INTO audit_log (seq, at, event, actor, subject, ip, detail, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                        .bind(record.seq).bind(record.at).bind(&record.event.event).bind(&record.event.actor)
                        .bind(&record.event.subject).bind(&record.event.ip).bind(record.event.detail.to_string())
                        .bind(record.prev_hash.as_slice()).bind(record.hash.as_slice())
                        .execute(&mut *tx).await?;
                    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                        .bind(record.hash.as_slice()).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
                    let rows = sqlx::query("SELECT seq, at, event, actor, subject, ip, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                        .bind(after).bind(limit).fetch_all(&self.pool).await?;
                    rows.iter().map(audit_row).collect()
                }

                async fn by_actor(&self, actor: &str, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
                    let rows = sqlx::query("SELECT seq, at, event, actor, subject, ip, detail, prev_hash, hash FROM (SELECT * FROM audit_log WHERE actor = $1 ORDER BY seq DESC LIMIT $2) AS recent ORDER BY seq")
                        .bind(actor).bind(limit).fetch_all(&self.pool).await?;
                    rows.iter().map(audit_row).collect()
                }

                async fn head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError> {
                    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
                    let seq: i64 = row.try_get(0)?;
                    Ok(if seq == 0 { None } else { Some((seq, s::hash32(row.try_get(1)?)?)) })
                }
            }

            #[async_trait]
            impl HealthRepo for $store {
                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    $name
                }
            }
        }
    };
}

pub(crate) use sql_backend;
