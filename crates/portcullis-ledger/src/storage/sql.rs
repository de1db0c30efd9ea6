//! The ledger's SQL, written once and compiled for SQLite and for PostgreSQL.
//!
//! Both accept `$n` placeholders, `RETURNING`, `ON CONFLICT … DO UPDATE` and the column types
//! of the migrations, so the statements are the same; only sqlx's types differ. The macro
//! below is the one copy of the code, instantiated per database as `sqlite` and `postgres`.
//! Appends insert their rows in multi-row statements ([`sqlx::QueryBuilder`]; the text is
//! assembled from constant fragments, every value is a bound argument), which is what lets
//! one commit carry thousands of entries.

/// Rows per multi-row statement: 7 arguments each stays below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound arguments.
pub(super) const CHUNK: usize = 1000;

/// A stored `u64` (sizes and indexes stay far below 2^63).
pub(super) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A `u64` read back; a negative value is corruption.
pub(super) fn uint(v: i64, what: &str) -> Result<u64, crate::LedgerError> {
    u64::try_from(v).map_err(|_| crate::LedgerError::Corrupt(format!("negative {what}")))
}

/// A 32-byte hash read back.
pub(super) fn hash(v: Vec<u8>, what: &str) -> Result<crate::merkle::Hash, crate::LedgerError> {
    v.try_into()
        .map_err(|_| crate::LedgerError::Corrupt(format!("{what} is not 32 bytes")))
}

macro_rules! ledger_sql {
    ($db:ident, $module:ident) => {
        /// The ledger's statements on this database.
        pub(super) mod $module {
            use std::collections::HashMap;

            use sqlx::{Connection as _, QueryBuilder, Row as _, $db};

            use super::super::{HeadRow, StoredCheckpoint};
            use super::{CHUNK, hash, int, uint};
            use crate::LedgerError;
            use crate::entry::Encoded;
            use crate::lifecycle::TokenState;
            use crate::merkle::{Hash, NodeId};

            type Conn = <$db as sqlx::Database>::Connection;
            type Row = <$db as sqlx::Database>::Row;

            fn encoded(row: &Row) -> Result<Encoded, LedgerError> {
                Ok(Encoded {
                    index: uint(row.try_get("idx")?, "index")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    subject: row.try_get("subject")?,
                    actor: row.try_get("actor")?,
                    body: row.try_get("body")?,
                    leaf: hash(row.try_get("leaf")?, "leaf")?,
                })
            }

            /// Takes the head row for this transaction (no other append runs until it
            /// ends) and returns the committed size.
            pub(crate) async fn lock_head(conn: &mut Conn) -> Result<u64, LedgerError> {
                let row = sqlx::query("UPDATE head SET size = size WHERE id = 1 RETURNING size")
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or_else(|| LedgerError::Corrupt("the head row is missing".into()))?;
                uint(row.try_get("size")?, "size")
            }

            /// The head as committed.
            pub(crate) async fn head(conn: &mut Conn) -> Result<Option<HeadRow>, LedgerError> {
                let row = sqlx::query("SELECT size, root, checkpoint, at FROM head WHERE id = 1")
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|row| {
                    Ok(HeadRow {
                        size: uint(row.try_get("size")?, "size")?,
                        root: hash(row.try_get("root")?, "root")?,
                        checkpoint: row.try_get("checkpoint")?,
                        at: row.try_get("at")?,
                    })
                })
                .transpose()
            }

            /// Writes the head of an empty ledger, unless one is there.
            pub(crate) async fn init_head(
                conn: &mut Conn,
                root: &Hash,
                checkpoint: &str,
                at: i64,
            ) -> Result<(), LedgerError> {
                sqlx::query(
                    "INSERT INTO head (id, size, root, checkpoint, at) VALUES (1, 0, $1, $2, $3) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(root.as_slice())
                .bind(checkpoint)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Replaces the head.
            pub(crate) async fn set_head(
                conn: &mut Conn,
                head: &HeadRow,
            ) -> Result<(), LedgerError> {
                sqlx::query(
                    "UPDATE head SET size = $1, root = $2, checkpoint = $3, at = $4 WHERE id = 1",
                )
                .bind(int(head.size))
                .bind(head.root.as_slice())
                .bind(&head.checkpoint)
                .bind(head.at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Keeps `head` in the checkpoint history.
            pub(crate) async fn keep_checkpoint(
                conn: &mut Conn,
                head: &HeadRow,
            ) -> Result<(), LedgerError> {
                sqlx::query(
                    "INSERT INTO checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (size) DO NOTHING",
                )
                .bind(int(head.size))
                .bind(head.root.as_slice())
                .bind(&head.checkpoint)
                .bind(head.at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// When the newest kept checkpoint was signed: the largest one's, read through the
            /// primary key (every commit asks, so no scan of the growing history).
            pub(crate) async fn last_kept_at(conn: &mut Conn) -> Result<Option<i64>, LedgerError> {
                let row = sqlx::query("SELECT at FROM checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|row| row.try_get("at")).transpose().map_err(Into::into)
            }

            /// Kept checkpoints with `size > after`, by size, at most `limit`.
            pub(crate) async fn checkpoints(
                conn: &mut Conn,
                after: u64,
                limit: i64,
            ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
                let rows = sqlx::query(
                    "SELECT size, root, note, at FROM checkpoints WHERE size > $1 \
                     ORDER BY size LIMIT $2",
                )
                .bind(int(after))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(StoredCheckpoint {
                            size: uint(row.try_get("size")?, "size")?,
                            root: hash(row.try_get("root")?, "root")?,
                            note: row.try_get("note")?,
                            at: row.try_get("at")?,
                        })
                    })
                    .collect()
            }

            /// The hashes of perfect subtrees: leaves from `entries`, the rest from `nodes`.
            pub(crate) async fn nodes(
                conn: &mut Conn,
                ids: &[NodeId],
            ) -> Result<HashMap<NodeId, Hash>, LedgerError> {
                let mut found = HashMap::with_capacity(ids.len());
                let (leaves, inner): (Vec<NodeId>, Vec<NodeId>) =
                    ids.iter().partition(|id| id.level == 0);
                for chunk in leaves.chunks(CHUNK) {
                    let mut q =
                        QueryBuilder::<$db>::new("SELECT idx, leaf FROM entries WHERE idx IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(int(id.index));
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&mut *conn).await? {
                        let index = uint(row.try_get("idx")?, "index")?;
                        found.insert(
                            NodeId { level: 0, index },
                            hash(row.try_get("leaf")?, "leaf")?,
                        );
                    }
                }
                for chunk in inner.chunks(CHUNK / 2) {
                    let mut q =
                        QueryBuilder::<$db>::new("SELECT level, idx, hash FROM nodes WHERE ");
                    for (n, id) in chunk.iter().enumerate() {
                        if n > 0 {
                            q.push(" OR ");
                        }
                        q.push("(level = ");
                        q.push_bind(i32::from(id.level));
                        q.push(" AND idx = ");
                        q.push_bind(int(id.index));
                        q.push(")");
                    }
                    for row in q.build().fetch_all(&mut *conn).await? {
                        let level: i32 = row.try_get("level")?;
                        let level = u8::try_from(level)
                            .map_err(|_| LedgerError::Corrupt("node level".into()))?;
                        let index = uint(row.try_get("idx")?, "index")?;
                        found.insert(NodeId { level, index }, hash(row.try_get("hash")?, "node")?);
                    }
                }
                Ok(found)
            }

            /// Stored nodes of `level` with `from <= idx < to`, in order (for verification).
            pub(crate) async fn node_range(
                conn: &mut Conn,
                level: u8,
                from: u64,
                to: u64,
            ) -> Result<Vec<(u64, Hash)>, LedgerError> {
                let rows = sqlx::query(
                    "SELECT idx, hash FROM nodes WHERE level = $1 AND idx >= $2 AND idx < $3 \
                     ORDER BY idx",
                )
                .bind(i32::from(level))
                .bind(int(from))
                .bind(int(to))
                .fetch_all(&mut *conn)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            uint(row.try_get("idx")?, "index")?,
                            hash(row.try_get("hash")?, "node")?,
                        ))
                    })
                    .collect()
            }

            /// The index's state of each of `tokens` that was ever minted.
            pub(crate) async fn token_states(
                conn: &mut Conn,
                tokens: &[&str],
            ) -> Result<HashMap<String, TokenState>, LedgerError> {
                let mut found = HashMap::with_capacity(tokens.len());
                for chunk in tokens.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT token, owner, burned, attributes FROM tokens WHERE token IN (",
                    );
                    let mut list = q.separated(", ");
                    for token in chunk {
                        list.push_bind(*token);
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&mut *conn).await? {
                        let attributes: String = row.try_get("attributes")?;
                        let attributes = serde_json::from_str(&attributes)
                            .map_err(|_| LedgerError::Corrupt("token attributes".into()))?;
                        found.insert(
                            row.try_get("token")?,
                            TokenState {
                                owner: row.try_get("owner")?,
                                burned: row.try_get("burned")?,
                                attributes,
                            },
                        );
                    }
                }
                Ok(found)
            }

            /// Appends entries.
            pub(crate) async fn insert_entries(
                conn: &mut Conn,
                entries: &[Encoded],
            ) -> Result<(), LedgerError> {
                for chunk in entries.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO entries (idx, at, kind, subject, actor, body, leaf) ",
                    );
                    q.push_values(chunk, |mut row, e| {
                        row.push_bind(int(e.index))
                            .push_bind(e.at)
                            .push_bind(e.kind.clone())
                            .push_bind(e.subject.clone())
                            .push_bind(e.actor.clone())
                            .push_bind(e.body.clone())
                            .push_bind(e.leaf.to_vec());
                    });
                    q.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Stores completed perfect subtrees (height 1 and up).
            pub(crate) async fn insert_nodes(
                conn: &mut Conn,
                nodes: &[(NodeId, Hash)],
            ) -> Result<(), LedgerError> {
                for chunk in nodes.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO nodes (level, idx, hash) ");
                    q.push_values(chunk, |mut row, (id, h)| {
                        row.push_bind(i32::from(id.level))
                            .push_bind(int(id.index))
                            .push_bind(h.to_vec());
                    });
                    q.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Writes the tokens' states after the batch (each token once).
            pub(crate) async fn upsert_tokens(
                conn: &mut Conn,
                tokens: &[(String, TokenState, u64)],
            ) -> Result<(), LedgerError> {
                for chunk in tokens.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO tokens (token, owner, burned, attributes, last_idx) ",
                    );
                    q.push_values(chunk, |mut row, (token, state, index)| {
                        row.push_bind(token.clone())
                            .push_bind(state.owner.clone())
                            .push_bind(state.burned)
                            .push_bind(
                                serde_json::Value::Object(state.attributes.clone()).to_string(),
                            )
                            .push_bind(int(*index));
                    });
                    q.push(
                        " ON CONFLICT (token) DO UPDATE SET owner = excluded.owner, \
                         burned = excluded.burned, last_idx = excluded.last_idx",
                    );
                    q.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Entries with `idx >= from`, in order, at most `limit`.
            pub(crate) async fn entries(
                conn: &mut Conn,
                from: u64,
                limit: i64,
            ) -> Result<Vec<Encoded>, LedgerError> {
                let rows = sqlx::query(
                    "SELECT idx, at, kind, subject, actor, body, leaf FROM entries \
                     WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind(int(from))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter().map(encoded).collect()
            }

            /// The latest `limit` entries whose actor is `actor`, oldest first.
            pub(crate) async fn by_actor(
                conn: &mut Conn,
                actor: &str,
                limit: i64,
            ) -> Result<Vec<Encoded>, LedgerError> {
                let rows = sqlx::query(
                    "SELECT idx, at, kind, subject, actor, body, leaf FROM \
                     (SELECT * FROM entries WHERE actor = $1 ORDER BY idx DESC LIMIT $2) AS recent \
                     ORDER BY idx",
                )
                .bind(actor)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter().map(encoded).collect()
            }

            /// Checks the connection works (for health).
            pub(crate) async fn ping(conn: &mut Conn) -> Result<(), LedgerError> {
                conn.ping().await?;
                Ok(())
            }
        }
    };
}

ledger_sql!(Sqlite, sqlite);
ledger_sql!(Postgres, postgres);
