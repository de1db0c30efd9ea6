//! [`PairRepo`](crate::repo::PairRepo) in the SQL both backends accept, instantiated per
//! backend like [`sql_backend!`](super::sql_backend).

use crate::error::StoreError;
use crate::model::PairRecord;
use crate::sql::parse_account_id;

/// Column list of `dualconfirm_pairs`, in the order [`pair`] decodes.
macro_rules! pair_columns {
    () => {
        "id, advisor_id, client_id, secret_sealed, status, language, created_by, created_at, updated_at"
    };
}
pub(crate) use pair_columns;

/// Raw columns of a `dualconfirm_pairs` row, decoded into a record.
#[allow(clippy::too_many_arguments, reason = "one argument per column")]
pub(crate) fn pair(
    id: String,
    advisor: String,
    client: String,
    secret_sealed: Vec<u8>,
    status: String,
    language: String,
    created_by: String,
    created_at: i64,
    updated_at: i64,
) -> Result<PairRecord, StoreError> {
    Ok(PairRecord {
        id,
        advisor: parse_account_id(&advisor)?,
        client: parse_account_id(&client)?,
        secret_sealed,
        status: status.parse().map_err(StoreError::Corrupt)?,
        language,
        created_by,
        created_at,
        updated_at,
    })
}

/// Ids looked up per statement by `PairRepo::existing`.
pub(crate) const EXISTING_BATCH: usize = 500;

/// Implements [`PairRepo`](crate::repo::PairRepo) for `$store`.
macro_rules! pair_backend {
    ($store:ident, $db:ty) => {
        mod pair_repos {
            use async_trait::async_trait;
            use portcullis_core::ids::AccountId;
            use sqlx::Row as _;

            use super::$store;
            use crate::error::StoreError;
            use crate::model::{PairRecord, PairStatus};
            use crate::repo::PairRepo;
            use crate::sql::pairs::{EXISTING_BATCH, pair, pair_columns};

            type DbRow = <$db as sqlx::Database>::Row;

            fn pair_row(r: &DbRow) -> Result<PairRecord, StoreError> {
                pair(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                    r.try_get(7)?,
                    r.try_get(8)?,
                )
            }

            #[async_trait]
            impl PairRepo for $store {
                async fn create(&self, p: &PairRecord) -> Result<(), StoreError> {
                    sqlx::query(concat!(
                        "INSERT INTO dualconfirm_pairs (",
                        pair_columns!(),
                        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
                    ))
                    .bind(&p.id)
                    .bind(p.advisor.to_string())
                    .bind(p.client.to_string())
                    .bind(p.secret_sealed.as_slice())
                    .bind(p.status.as_str())
                    .bind(&p.language)
                    .bind(&p.created_by)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn get(&self, id: &str) -> Result<Option<PairRecord>, StoreError> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        pair_columns!(),
                        " FROM dualconfirm_pairs WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(pair_row).transpose()
                }

                async fn of_advisor(
                    &self,
                    advisor: AccountId,
                ) -> Result<Vec<PairRecord>, StoreError> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        pair_columns!(),
                        " FROM dualconfirm_pairs WHERE advisor_id = $1 ORDER BY created_at, id"
                    ))
                    .bind(advisor.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(pair_row).collect()
                }

                async fn of_client(
                    &self,
                    client: AccountId,
                ) -> Result<Vec<PairRecord>, StoreError> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        pair_columns!(),
                        " FROM dualconfirm_pairs WHERE client_id = $1 ORDER BY created_at, id"
                    ))
                    .bind(client.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(pair_row).collect()
                }

                async fn list(&self) -> Result<Vec<PairRecord>, StoreError> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        pair_columns!(),
                        " FROM dualconfirm_pairs ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(pair_row).collect()
                }

                async fn set_status(
                    &self,
                    id: &str,
                    status: PairStatus,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let r = sqlx::query(
                        "UPDATE dualconfirm_pairs SET status = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(status.as_str())
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn set_language(
                    &self,
                    id: &str,
                    language: &str,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let r = sqlx::query(
                        "UPDATE dualconfirm_pairs SET language = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(language)
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn delete(&self, id: &str) -> Result<bool, StoreError> {
                    let r = sqlx::query("DELETE FROM dualconfirm_pairs WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected() == 1)
                }

                async fn existing(&self, ids: &[&str]) -> Result<Vec<String>, StoreError> {
                    let mut found = Vec::with_capacity(ids.len());
                    // Bounded statements: both backends cap the parameters of one.
                    for chunk in ids.chunks(EXISTING_BATCH) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT id FROM dualconfirm_pairs WHERE id IN (",
                        );
                        let mut list = query.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        query.push(")");
                        for row in query.build().fetch_all(&self.pool).await? {
                            found.push(row.try_get(0)?);
                        }
                    }
                    Ok(found)
                }
            }
        }
    };
}
pub(crate) use pair_backend;
