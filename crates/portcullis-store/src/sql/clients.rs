//! [`ClientRepo`]: the `clients` table of service accounts, whose secrets are kept only as
//! SHA-256 digests, and the one look-up of `refresh_tokens` that RFC 7009 revocation needs.

use async_trait::async_trait;
use portcullis_core::ids::SessionId;
use portcullis_core::secret::TokenHash;
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, from_json_list, hash32, session_id, to_json_list};
use crate::error::StoreError;
use crate::model::{ClientRecord, ClientStatus};
use crate::repo::ClientRepo;

/// Columns of `clients`, as [`client`] reads them.
macro_rules! columns {
    () => {
        "id, name, secret_hash, scopes, status, created_at, updated_at"
    };
}

fn client<DB: Backend>(r: &Row<DB>) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: r.get("id")?,
        name: r.get("name")?,
        secret_hash: TokenHash::from_bytes(hash32(r.get("secret_hash")?)?),
        scopes: from_json_list(&r.get::<String>("scopes")?)?,
        status: r
            .get::<String>("status")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

#[async_trait]
impl<DB: Backend> ClientRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(client.id = %c.id))]
    async fn create(&self, c: &ClientRecord) -> Result<(), StoreError> {
        self.execute(
            sql(concat!(
                "INSERT INTO clients (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.secret_hash)
            .bind(to_json_list(&c.scopes)?)
            .bind(c.status.as_str())
            .bind(c.created_at)
            .bind(c.updated_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(client.id = id))]
    async fn get(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM clients WHERE id = $1"
        ));
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(client).transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn list(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM clients ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q).await?;
        rows.iter().map(client).collect()
    }

    #[instrument(level = "debug", skip_all, fields(client.id = id))]
    async fn set_secret(&self, id: &str, hash: &TokenHash, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE clients SET secret_hash = $1, updated_at = $2 WHERE id = $3")
                    .bind(hash)
                    .bind(now)
                    .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(client.id = id, client.status = status.as_str()))]
    async fn set_status(
        &self,
        id: &str,
        status: ClientStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE clients SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind(now)
                    .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(client.id = id))]
    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(sql("DELETE FROM clients WHERE id = $1").bind(id))
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all)]
    async fn session_of_refresh(&self, hash: &TokenHash) -> Result<Option<SessionId>, StoreError> {
        let row = self
            .fetch_optional(sql("SELECT session_id FROM refresh_tokens WHERE hash = $1").bind(hash))
            .await?;
        row.map(|r| session_id(&r.get::<String>("session_id")?))
            .transpose()
    }
}
