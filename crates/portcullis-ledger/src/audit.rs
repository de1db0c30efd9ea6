//! [`AuditLedger`]: the audit log as a ledger. Every audited event is a leaf; its signed
//! checkpoints make a cut or rewritten tail detectable, which the old hash chain (whose head
//! lived in the same database) could not.
//!
//! Audit entries keep the numbering of the old log: `seq` is the leaf index plus one. The old
//! log's entries are moved over once, in order and unchanged, by [`AuditLedger::migrate_legacy`].

use portcullis_core::audit::{AuditEvent, verify_chain};
use portcullis_store::repo::AuditRepo;

use crate::LedgerError;
use crate::entry::{Encoded, Entry, Payload};
use crate::ledger::Ledger;
use crate::merkle::Hash;

/// The event that closes a migration of the old hash-chained log.
pub const MIGRATED_EVENT: &str = "audit.migrated";

/// One audit entry as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position, from 1 without gaps (the leaf index plus one).
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub event: AuditEvent,
    /// The entry's leaf hash.
    pub leaf: Hash,
}

/// The audit ledger.
#[derive(Clone, Debug)]
pub struct AuditLedger {
    ledger: Ledger,
}

fn to_entry(stored: &Encoded) -> Result<AuditEntry, LedgerError> {
    let entry = Entry::decode(stored).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    match entry.payload {
        Payload::Audit(event) => Ok(AuditEntry {
            seq: i64::try_from(entry.index + 1).unwrap_or(i64::MAX),
            at: entry.at,
            event,
            leaf: stored.leaf,
        }),
        Payload::Token(_) => Err(LedgerError::Corrupt(format!(
            "entry {} of the audit ledger is a token operation",
            entry.index
        ))),
    }
}

impl AuditLedger {
    /// The audit ledger over `ledger`.
    ///
    /// # Errors
    /// [`LedgerError::WrongKind`] for a token ledger.
    pub fn new(ledger: Ledger) -> Result<Self, LedgerError> {
        if ledger.name().holds_tokens() {
            Err(LedgerError::WrongKind)
        } else {
            Ok(Self { ledger })
        }
    }

    /// The ledger underneath (head, proofs, verification).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Appends `event`, answering once it is durable.
    ///
    /// # Errors
    /// Storage failures: the caller's operation fails with them, so no event goes unrecorded.
    pub async fn append(&self, at: i64, event: AuditEvent) -> Result<AuditEntry, LedgerError> {
        let receipt = self
            .ledger
            .append(at, Payload::Audit(event.clone()))
            .await?;
        Ok(AuditEntry {
            seq: i64::try_from(receipt.index + 1).unwrap_or(i64::MAX),
            at,
            event,
            leaf: receipt.leaf,
        })
    }

    /// Entries with `seq > after`, in order, at most `limit`.
    ///
    /// # Errors
    /// Storage failures, or an entry that is not an audit event.
    pub async fn page(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, LedgerError> {
        let from = u64::try_from(after).unwrap_or(0);
        self.ledger
            .entries(from, limit)
            .await?
            .iter()
            .map(to_entry)
            .collect()
    }

    /// The latest `limit` entries whose actor is `actor`, oldest first (for data export).
    ///
    /// # Errors
    /// As [`AuditLedger::page`].
    pub async fn by_actor(&self, actor: &str, limit: i64) -> Result<Vec<AuditEntry>, LedgerError> {
        self.ledger
            .storage()
            .by_actor(actor, limit)
            .await?
            .iter()
            .map(to_entry)
            .collect()
    }

    /// Moves the old hash-chained log of the main database onto this ledger, once.
    ///
    /// The old chain is verified first (a broken one is refused: it is reported, never
    /// silently carried over). Its entries are appended in order with their times and
    /// contents, then an [`MIGRATED_EVENT`] entry recording the old head, and only then is the
    /// old log emptied. A crash at any point resumes where it stopped: whatever of the old log
    /// the ledger already holds is checked, not appended again. Returns how many entries moved.
    ///
    /// # Errors
    /// [`LedgerError::Corrupt`] for a broken old chain or a ledger that disagrees with it;
    /// storage failures.
    pub async fn migrate_legacy(
        &self,
        legacy: &dyn AuditRepo,
        now: i64,
    ) -> Result<u64, LedgerError> {
        let legacy_err =
            |e: portcullis_store::StoreError| LedgerError::Corrupt(format!("old audit log: {e}"));
        let Some(head) = legacy.head().await.map_err(legacy_err)? else {
            return Ok(0);
        };
        let mut old = Vec::new();
        loop {
            let after = old
                .last()
                .map_or(0, |r: &portcullis_core::audit::AuditRecord| r.seq);
            let page = legacy.page(after, 5_000).await.map_err(legacy_err)?;
            if page.is_empty() {
                break;
            }
            old.extend(page);
        }
        verify_chain(&old, Some(head)).map_err(|e| {
            LedgerError::Corrupt(format!(
                "the old audit log is broken ({e}); `portcullis audit verify` names it, and it \
                 is not moved onto the audit ledger"
            ))
        })?;
        let present = self
            .page(0, i64::try_from(old.len() + 1).unwrap_or(i64::MAX))
            .await?;
        for (have, want) in present.iter().zip(&old) {
            if have.at != want.at || have.event != want.event {
                return Err(LedgerError::Corrupt(format!(
                    "audit ledger entry {} is not the old log's entry {}",
                    have.seq, want.seq
                )));
            }
        }
        let moved = old.len().saturating_sub(present.len().min(old.len()));
        if present.len() <= old.len() {
            for record in &old[present.len()..] {
                self.append(record.at, record.event.clone()).await?;
            }
            self.append(
                now,
                AuditEvent {
                    event: MIGRATED_EVENT.into(),
                    actor: Some("system".into()),
                    subject: None,
                    ip: None,
                    detail: serde_json::json!({
                        "entries": old.len(),
                        "old_head": hex::encode(head.1),
                    }),
                },
            )
            .await?;
        } else if present[old.len()].event.event != MIGRATED_EVENT {
            return Err(LedgerError::Corrupt(
                "the audit ledger holds entries the old log does not".into(),
            ));
        }
        legacy.clear_after_migration().await.map_err(legacy_err)?;
        Ok(moved as u64)
    }
}
