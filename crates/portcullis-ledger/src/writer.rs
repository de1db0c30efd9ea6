//! The one task that appends to a ledger: group commit.
//!
//! Requests queue on a channel. The writer takes every request waiting (up to
//! [`MAX_BATCH`]), checks each against the lifecycle rules in order (a refused one is answered
//! at once and appends nothing), appends the rest to the tree, and writes entries, nodes, token
//! index and a newly signed head in one transaction. Only when that commit has returned, and
//! so is on disk, is each request answered. While a commit waits for the disk the next batch
//! gathers, so the cost of a sync is shared by every request that arrived meanwhile.
//!
//! Several nodes may share a PostgreSQL ledger: each commit first takes the head row, and if
//! another node moved the head the frontier is read again from storage.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::LedgerError;
use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, Payload};
use crate::lifecycle::{self, TokenState};
use crate::merkle::{Frontier, Hash, NodeId};
use crate::name::LedgerName;
use crate::note::NoteSigner;
use crate::storage::{HeadRow, Storage, Tx};

/// Most requests in one commit.
pub const MAX_BATCH: usize = 4096;

/// Requests that may wait for the writer before callers are held back.
pub(crate) const QUEUE: usize = 16 * 1024;

/// Where an appended entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's leaf index.
    pub index: u64,
    /// The size of the signed tree head that first covers it.
    pub size: u64,
    /// The entry's leaf hash.
    pub leaf: Hash,
}

/// One append waiting for the writer.
pub(crate) struct Request {
    pub(crate) at: i64,
    pub(crate) payload: Payload,
    pub(crate) reply: oneshot::Sender<Result<Receipt, LedgerError>>,
}

/// The clock the writer signs heads with.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub(crate) struct Writer {
    pub(crate) name: LedgerName,
    pub(crate) storage: Storage,
    pub(crate) signer: NoteSigner,
    pub(crate) clock: Clock,
    /// The tree's right edge as of the last commit; `None` after a failure, so it is read
    /// again.
    pub(crate) frontier: Option<Frontier>,
    pub(crate) requests: mpsc::Receiver<Request>,
}

/// A batch's outcome for one request, before the commit.
enum Verdict {
    Accepted(Receipt),
    Refused(LedgerError),
}

impl Writer {
    /// Appends until every sender is gone.
    pub(crate) async fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while self.requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.commit(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit(&mut self, batch: Vec<Request>) {
        let payloads: Vec<(i64, &Payload)> = batch.iter().map(|r| (r.at, &r.payload)).collect();
        match self.append(&payloads).await {
            Ok(verdicts) => {
                for (request, verdict) in batch.into_iter().zip(verdicts) {
                    let answer = match verdict {
                        Verdict::Accepted(receipt) => Ok(receipt),
                        Verdict::Refused(e) => Err(e),
                    };
                    // A caller that gave up waiting does not undo the entry.
                    let _ = request.reply.send(answer);
                }
            }
            Err(e) => {
                self.frontier = None;
                tracing::error!(ledger = %self.name, error = %e, "ledger commit failed");
                let message = e.to_string();
                for request in batch {
                    let _ = request
                        .reply
                        .send(Err(LedgerError::Commit(message.clone())));
                }
            }
        }
    }

    /// Checks, appends and commits one batch; the verdicts are in request order.
    async fn append(&mut self, batch: &[(i64, &Payload)]) -> Result<Vec<Verdict>, LedgerError> {
        let mut tx = self.storage.begin().await?;
        let size = tx.lock_head().await?;
        let mut frontier = match self.frontier.take() {
            Some(frontier) if frontier.size() == size => frontier,
            _ => load_frontier(&mut tx, size).await?,
        };
        let tokens: Vec<&str> = batch
            .iter()
            .filter_map(|(_, p)| match p {
                Payload::Token(op) => Some(op.token()),
                Payload::Audit(_) => None,
            })
            .collect();
        let mut states = if tokens.is_empty() {
            HashMap::new()
        } else {
            tx.token_states(&tokens).await?
        };
        let mut changed: HashMap<String, u64> = HashMap::new();
        let mut entries = Vec::with_capacity(batch.len());
        let mut nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(batch.len());
        let mut verdicts = Vec::with_capacity(batch.len());
        for &(at, payload) in batch {
            let checked = match payload {
                Payload::Token(op) if self.name.holds_tokens() => {
                    lifecycle::apply(states.get(op.token()), op)
                        .map(|state| Some((op.token().to_owned(), state)))
                        .map_err(LedgerError::from)
                }
                Payload::Audit(_) if !self.name.holds_tokens() => Ok(None),
                _ => Err(LedgerError::WrongKind),
            };
            let state = match checked {
                Ok(state) => state,
                Err(e) => {
                    verdicts.push(Verdict::Refused(e));
                    continue;
                }
            };
            let index = frontier.size();
            let encoded = Entry::new(index, at, payload.clone()).encode();
            let completed = frontier.push(encoded.leaf);
            nodes.extend(completed.into_iter().filter(|(id, _)| id.level > 0));
            if let Some((token, state)) = state {
                changed.insert(token.clone(), index);
                states.insert(token, state);
            }
            verdicts.push(Verdict::Accepted(Receipt {
                index,
                size: 0,
                leaf: encoded.leaf,
            }));
            entries.push(encoded);
        }
        if entries.is_empty() {
            // Nothing to append: the transaction ends without writing.
            return Ok(verdicts);
        }
        let token_rows: Vec<(String, TokenState, u64)> = changed
            .into_iter()
            .filter_map(|(token, index)| {
                let state = states.remove(&token)?;
                Some((token, state, index))
            })
            .collect();
        tx.insert_entries(&entries).await?;
        tx.insert_nodes(&nodes).await?;
        if !token_rows.is_empty() {
            tx.upsert_tokens(&token_rows).await?;
        }
        let head = self.sign_head(&frontier)?;
        tx.set_head(&head).await?;
        if tx.last_kept_at().await?.is_none_or(|last| last < head.at) {
            tx.keep_checkpoint(&head).await?;
        }
        tx.commit().await?;
        self.frontier = Some(frontier);
        for verdict in &mut verdicts {
            if let Verdict::Accepted(receipt) = verdict {
                receipt.size = head.size;
            }
        }
        Ok(verdicts)
    }

    /// The signed head of the tree `frontier` ends.
    fn sign_head(&self, frontier: &Frontier) -> Result<HeadRow, LedgerError> {
        sign_head(&self.signer, frontier, (self.clock)())
    }
}

/// The signed head of the tree `frontier` ends, signed at `at`.
pub(crate) fn sign_head(
    signer: &NoteSigner,
    frontier: &Frontier,
    at: i64,
) -> Result<HeadRow, LedgerError> {
    let root = frontier.root();
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size: frontier.size(),
        root,
    }
    .sign(signer)?;
    Ok(HeadRow {
        size: frontier.size(),
        root,
        checkpoint,
        at,
    })
}

/// The frontier of the committed tree of `size` leaves, read inside the append's transaction.
async fn load_frontier(tx: &mut Tx, size: u64) -> Result<Frontier, LedgerError> {
    let ids = Frontier::peak_ids(size);
    let found = tx.nodes(&ids).await?;
    let peaks = ids
        .iter()
        .map(|id| {
            found
                .get(id)
                .copied()
                .ok_or_else(|| LedgerError::Corrupt(format!("frontier node {id:?} is missing")))
        })
        .collect::<Result<Vec<Hash>, LedgerError>>()?;
    Ok(Frontier::from_peaks(size, peaks)?)
}
