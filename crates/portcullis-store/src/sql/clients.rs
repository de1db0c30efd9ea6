//! [`ClientRepo`](crate::repo::ClientRepo) in the SQL both backends accept, instantiated per
//! backend like [`sql_backend!`](super::sql_backend).

use portcullis_core::secret::TokenHash;

use crate::error::StoreError;
use crate::model::ClientRecord;
use crate::sql::{from_json_list, hash32};

/// Column list of `clients`, in the order [`client`] decodes.
macro_rules! client_columns {
    () => {
        "id, name, secret_hash, scopes, status, created_at, updated_at"
    };
}
pub(crate) use client_columns;

/// Raw columns of a `clients` row, decoded into a record.
pub(crate) fn client(
    id: String,
    name: String,
    secret_hash: Vec<u8>,
    scopes: String,
    status: String,
    created_at: i64,
    updated_at: i64,
) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id,
        name,
        secret_hash: TokenHash::from_bytes(hash32(secret_hash)?),
        scopes: from_json_list(&scopes)?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        created_at,
        updated_at,
    })
}

/// Implements [`ClientRepo`](crate::repo::ClientRepo) for `$store`.
macro_rules! client_backend {
    ($store:ident, $db:ty) => {
        mod client_repos {
            use async_trait::async_trait;
            use portcullis_core::ids::SessionId;
            use portcullis_core::secret::TokenHash;
            use sqlx::Row as _;

            use super::$store;
            use crate::error::StoreError;
            use crate::model::{ClientRecord, ClientStatus};
            use crate::repo::ClientRepo;
            use crate::sql::clients::{client, client_columns};
            use crate::sql::{parse_session_id, to_json_list};

            type DbRow = <$db as sqlx::Database>::Row;

            fn client_row(r: &DbRow) -> Result<ClientRecord, StoreError> {
                client(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                )
            }

            #[async_trait]
            impl ClientRepo for $store {
                async fn create(&self, c: &ClientRecord) -> Result<(), StoreError> {
                    sqlx::query(concat!(
                        "INSERT INTO clients (",
                        client_columns!(),
                        ") VALUES ($1,$2,$3,$4,$5,$6,$7)"
                    ))
                    .bind(&c.id)
                    .bind(&c.name)
                    .bind(c.secret_hash.as_bytes().as_slice())
                    .bind(to_json_list(&c.scopes))
                    .bind(c.status.as_str())
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn get(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        client_columns!(),
                        " FROM clients WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(client_row).transpose()
                }

                async fn list(&self) -> Result<Vec<ClientRecord>, StoreError> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        client_columns!(),
                        " FROM clients ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(client_row).collect()
                }

                async fn set_secret(
                    &self,
                    id: &str,
                    hash: &TokenHash,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let r = sqlx::query(
                        "UPDATE clients SET secret_hash = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(hash.as_bytes().as_slice())
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn set_status(
                    &self,
                    id: &str,
                    status: ClientStatus,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let r = sqlx::query(
                        "UPDATE clients SET status = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(status.as_str())
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete(&self, id: &str) -> Result<bool, StoreError> {
                    let r = sqlx::query("DELETE FROM clients WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn session_of_refresh(
                    &self,
                    hash: &TokenHash,
                ) -> Result<Option<SessionId>, StoreError> {
                    let row = sqlx::query("SELECT session_id FROM refresh_tokens WHERE hash = $1")
                        .bind(hash.as_bytes().as_slice())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| parse_session_id(&r.try_get::<String, _>(0)?))
                        .transpose()
                }
            }
        }
    };
}
pub(crate) use client_backend;
