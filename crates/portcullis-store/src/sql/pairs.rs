//! [`PairRepo`]: the `dualconfirm_pairs` table. The pair secret is sealed by the keyring; the
//! words derived from it are never stored.
//!
//! Both members of a pair reference their account's key row with `ON DELETE CASCADE`, so
//! shredding either account removes the pair.

use async_trait::async_trait;
use portcullis_core::ids::AccountId;
use tracing::instrument;

use super::backend::{Backend, Row, sql};
use super::{SqlStore, account_id, from_json_list};
use crate::error::StoreError;
use crate::model::{PairRecord, PairStanding, PairStatus, PartyStanding};
use crate::repo::PairRepo;

/// Columns of `dualconfirm_pairs`, as [`pair`] reads them.
macro_rules! columns {
    () => {
        "id, advisor_id, client_id, secret_sealed, status, language, created_by, created_at, \
         updated_at, advisor_name_sealed, client_name_sealed"
    };
}

fn pair<DB: Backend>(r: &Row<DB>) -> Result<PairRecord, StoreError> {
    Ok(PairRecord {
        id: r.get("id")?,
        advisor: account_id(&r.get::<String>("advisor_id")?)?,
        client: account_id(&r.get::<String>("client_id")?)?,
        secret_sealed: r.get("secret_sealed")?,
        status: r
            .get::<String>("status")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        language: r.get("language")?,
        created_by: r.get("created_by")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        advisor_name_sealed: r.get("advisor_name_sealed")?,
        client_name_sealed: r.get("client_name_sealed")?,
    })
}

fn party<DB: Backend>(r: &Row<DB>, side: &str) -> Result<PartyStanding, StoreError> {
    let (status, roles) = match side {
        "advisor" => ("advisor_status", "advisor_roles"),
        _ => ("client_status", "client_roles"),
    };
    Ok(PartyStanding {
        status: r
            .get::<String>(status)?
            .parse()
            .map_err(StoreError::Corrupt)?,
        roles: from_json_list(&r.get::<String>(roles)?)?,
    })
}

#[async_trait]
impl<DB: Backend> PairRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(pair.id = %p.id, advisor.id = %p.advisor, client.id = %p.client))]
    async fn create(&self, p: &PairRecord) -> Result<(), StoreError> {
        self.execute(
            sql(concat!(
                "INSERT INTO dualconfirm_pairs (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(&p.id)
            .bind(p.advisor)
            .bind(p.client)
            .bind(&p.secret_sealed)
            .bind(p.status.as_str())
            .bind(&p.language)
            .bind(&p.created_by)
            .bind(p.created_at)
            .bind(p.updated_at)
            .bind(&p.advisor_name_sealed)
            .bind(&p.client_name_sealed),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(pair.id = id))]
    async fn get(&self, id: &str) -> Result<Option<PairRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_pairs WHERE id = $1"
        ));
        let row = self.fetch_optional(q.bind(id)).await?;
        row.as_ref().map(pair).transpose()
    }

    #[instrument(level = "debug", skip_all, fields(advisor.id = %advisor))]
    async fn of_advisor(&self, advisor: AccountId) -> Result<Vec<PairRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_pairs WHERE advisor_id = $1 ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q.bind(advisor)).await?;
        rows.iter().map(pair).collect()
    }

    #[instrument(level = "debug", skip_all, fields(client.id = %client))]
    async fn of_client(&self, client: AccountId) -> Result<Vec<PairRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_pairs WHERE client_id = $1 ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q.bind(client)).await?;
        rows.iter().map(pair).collect()
    }

    #[instrument(level = "debug", skip_all)]
    async fn list(&self) -> Result<Vec<PairRecord>, StoreError> {
        let q = sql(concat!(
            "SELECT ",
            columns!(),
            " FROM dualconfirm_pairs ORDER BY created_at, id"
        ));
        let rows = self.fetch_all(q).await?;
        rows.iter().map(pair).collect()
    }

    #[instrument(level = "debug", skip_all, fields(pair.id = id, pair.status = status.as_str()))]
    async fn set_status(&self, id: &str, status: PairStatus, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE dualconfirm_pairs SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind(now)
                    .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(pair.id = id, language = language))]
    async fn set_language(&self, id: &str, language: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE dualconfirm_pairs SET language = $1, updated_at = $2 WHERE id = $3")
                    .bind(language)
                    .bind(now)
                    .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(pair.id = id))]
    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(sql("DELETE FROM dualconfirm_pairs WHERE id = $1").bind(id))
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(pairs = ids.len()))]
    async fn existing(&self, ids: &[&str]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(EXISTING_BATCH) {
            // A short chunk repeats its first id: the statement keeps its one static text.
            let padding = chunk.first().into_iter().cycle();
            let statement = chunk
                .iter()
                .chain(padding)
                .take(EXISTING_BATCH)
                .fold(sql(existing_statement()), |q, id| q.bind(*id));
            for row in self.fetch_all(statement).await? {
                found.push(row.get("id")?);
            }
        }
        Ok(found)
    }

    #[instrument(level = "debug", skip_all, fields(pair.id = id))]
    async fn set_names(
        &self,
        id: &str,
        advisor: Option<&[u8]>,
        client: Option<&[u8]>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                sql("UPDATE dualconfirm_pairs SET advisor_name_sealed = $1, \
                     client_name_sealed = $2, updated_at = $3 WHERE id = $4")
                .bind(&advisor.map(<[u8]>::to_vec))
                .bind(&client.map(<[u8]>::to_vec))
                .bind(now)
                .bind(id),
            )
            .await?;
        Ok(changed == 1)
    }

    #[instrument(level = "debug", skip_all, fields(pairs = ids.len()))]
    async fn standing(&self, ids: &[&str]) -> Result<Vec<PairStanding>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(EXISTING_BATCH) {
            let padding = chunk.first().into_iter().cycle();
            let statement = chunk
                .iter()
                .chain(padding)
                .take(EXISTING_BATCH)
                .fold(sql(standing_statement()), |q, id| q.bind(*id));
            for row in self.fetch_all(statement).await? {
                found.push(PairStanding {
                    id: row.get("id")?,
                    advisor: party(&row, "advisor")?,
                    client: party(&row, "client")?,
                });
            }
        }
        Ok(found)
    }
}

/// Ids looked up per statement by [`PairRepo::existing`] (far below both backends' caps on the
/// parameters of one statement).
const EXISTING_BATCH: usize = 100;

/// `$1, …, $100`, the placeholders of a batch.
fn batch_placeholders() -> String {
    let placeholders: Vec<String> = (1..=EXISTING_BATCH).map(|n| format!("${n}")).collect();
    placeholders.join(", ")
}

/// `SELECT id … WHERE id IN ($1, …, $100)`, written once: statements are `'static` text
/// (see [`sql`]), and this one's placeholder list is long enough to build rather than type.
fn existing_statement() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "SELECT id FROM dualconfirm_pairs WHERE id IN ({})",
            batch_placeholders()
        )
    })
}

/// The pairs among a batch of ids with their accounts' status and roles (as
/// [`existing_statement`]).
fn standing_statement() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "SELECT p.id AS id, a.status AS advisor_status, a.roles AS advisor_roles, \
             c.status AS client_status, c.roles AS client_roles \
             FROM dualconfirm_pairs p \
             JOIN accounts a ON a.id = p.advisor_id \
             JOIN accounts c ON c.id = p.client_id \
             WHERE p.id IN ({})",
            batch_placeholders()
        )
    })
}
