//! [`ApiKeyRepo`]: the `api_keys` table. Keys are found by the SHA-256 of the key (a unique
//! column): the digest of a 256-bit random secret, so the index's timing tells an attacker
//! nothing about keys they do not hold.

use async_trait::async_trait;
use portcullis_core::ids::ApiKeyId;
use portcullis_core::secret::TokenHash;
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, from_json_list, hash32, to_json_list};
use crate::error::StoreError;
use crate::model::ApiKeyRecord;
use crate::repo::ApiKeyRepo;

/// Columns of `api_keys`, as [`api_key`] reads them.
macro_rules! columns {
    () => {
        "id, name, key_hash, prefix, scopes, origins, rate_per_minute, created_at, revoked_at, \
         last_used_at"
    };
}

fn api_key<DB: Backend>(r: &Row<DB>) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: r
            .get::<String>("id")?
            .parse()
            .map_err(|e| StoreError::decode("api key id", e))?,
        name: r.get("name")?,
        key_hash: TokenHash::from_bytes(hash32(r.get("key_hash")?)?),
        prefix: r.get("prefix")?,
        scopes: from_json_list(&r.get::<String>("scopes")?)?,
        origins: from_json_list(&r.get::<String>("origins")?)?,
        rate_per_minute: r.get("rate_per_minute")?,
        created_at: r.get("created_at")?,
        revoked_at: r.get("revoked_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

#[async_trait]
impl<DB: Backend> ApiKeyRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(api_key.id = %k.id))]
    async fn create(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        self.execute(
            sql(concat!(
                "INSERT INTO api_keys (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(k.id)
            .bind(&k.name)
            .bind(&k.key_hash)
            .bind(&k.prefix)
            .bind(to_json_list(&k.scopes)?)
            .bind(to_json_list(&k.origins)?)
            .bind(k.rate_per_minute)
            .bind(k.created_at)
            .bind(k.revoked_at)
            .bind(k.last_used_at),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(api_key.id = %id))]
    async fn get(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys WHERE id = $1"
        ));
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(api_key).transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys WHERE key_hash = $1"
        ));
        let row = self.fetch_optional(q.bind(hash)).await?;
        row.as_ref().map(api_key).transpose()
    }

    #[instrument(level = "debug", skip_all)]
    async fn list(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys ORDER BY created_at, id"
        ));
        self.fetch_all(q).await?.iter().map(api_key).collect()
    }

    #[instrument(level = "debug", skip_all, fields(api_key.id = %id))]
    async fn revoke(&self, id: ApiKeyId, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(api_key.id = %id))]
    async fn record_use(&self, id: ApiKeyId, now: i64, since: i64) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE api_keys SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(now)
            .bind(id)
            .bind(since),
        )
        .await?;
        Ok(())
    }
}
