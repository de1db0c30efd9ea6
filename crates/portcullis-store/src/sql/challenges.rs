//! [`ChallengeRepo`]: the `login_challenges` table. A challenge is stored as the JSON of
//! [`Challenge`] with a version; every update names the version it read (optimistic locking).
//!
//! Its attempts are not in the JSON but in the `attempts` column, which one conditional
//! statement increments before an answer is checked ([`ChallengeRepo::reserve_attempt`]).
//! Optimistic locking alone would let the losers of a race have their answers checked and then
//! drop their failures with their stale writes; the column counts them all the same. Read
//! back, the column is the challenge's `failures`.

use async_trait::async_trait;
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::Challenge;
use tracing::instrument;

use super::SqlStore;
use super::backend::{Backend, sql};
use crate::error::StoreError;
use crate::repo::ChallengeRepo;

fn state(c: &Challenge) -> Result<String, StoreError> {
    serde_json::to_string(c).map_err(|e| StoreError::encode("login challenge", e))
}

/// The `attempts` column as a count of failures.
fn attempts(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|e| StoreError::decode("login challenge attempts", e))
}

#[async_trait]
impl<DB: Backend> ChallengeRepo for SqlStore<DB> {
    #[instrument(level = "debug", skip_all, fields(challenge.id = %c.id))]
    async fn insert(&self, c: &Challenge) -> Result<(), StoreError> {
        self.execute(
            sql(
                "INSERT INTO login_challenges (id, state, version, expires_at, attempts) \
                 VALUES ($1, $2, 0, $3, $4)",
            )
            .bind(c.id)
            .bind(state(c)?)
            .bind(c.expires_at)
            .bind(i64::from(c.failures)),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(challenge.id = %id))]
    async fn get(&self, id: ChallengeId) -> Result<Option<(Challenge, i64)>, StoreError> {
        let row = self
            .fetch_optional(
                sql("SELECT state, version, attempts FROM login_challenges WHERE id = $1").bind(id),
            )
            .await?;
        row.map(|r| {
            let mut c: Challenge = serde_json::from_str(&r.get::<String>("state")?)
                .map_err(|e| StoreError::decode("login challenge", e))?;
            c.failures = attempts(r.get("attempts")?)?;
            Ok((c, r.get("version")?))
        })
        .transpose()
    }

    #[instrument(level = "debug", skip_all, fields(challenge.id = %id))]
    async fn reserve_attempt(&self, id: ChallengeId, max: u32) -> Result<Option<u32>, StoreError> {
        // One statement: of concurrent callers at most `max` in all find a row to update.
        let row = self
            .fetch_optional(
                sql("UPDATE login_challenges SET attempts = attempts + 1 \
                     WHERE id = $1 AND attempts < $2 RETURNING attempts")
                .bind(id)
                .bind(i64::from(max)),
            )
            .await?;
        row.map(|r| attempts(r.get("attempts")?)).transpose()
    }

    #[instrument(level = "debug", skip_all, fields(challenge.id = %id))]
    async fn release_attempt(&self, id: ChallengeId) -> Result<(), StoreError> {
        self.execute(
            sql("UPDATE login_challenges SET attempts = attempts - 1 \
                 WHERE id = $1 AND attempts > 0")
            .bind(id),
        )
        .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all, fields(challenge.id = %c.id, version = version))]
    async fn update(&self, c: &Challenge, version: i64) -> Result<(), StoreError> {
        let changed = self
            .execute(
                sql("UPDATE login_challenges SET state = $1, expires_at = $4, \
                     version = version + 1 WHERE id = $2 AND version = $3")
                .bind(state(c)?)
                .bind(c.id)
                .bind(version)
                .bind(c.expires_at),
            )
            .await?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Concurrent)
        }
    }

    #[instrument(level = "debug", skip_all, fields(challenge.id = %id))]
    async fn delete(&self, id: ChallengeId) -> Result<(), StoreError> {
        self.execute(sql("DELETE FROM login_challenges WHERE id = $1").bind(id))
            .await?;
        Ok(())
    }

    #[instrument(level = "debug", skip_all)]
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.execute(sql("DELETE FROM login_challenges WHERE expires_at <= $1").bind(now))
            .await
    }
}
