//! Reading the contract's events: the follower that keeps the index up to date, and the
//! check of the index against every event on the chain (`portcullis ledger verify`).

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider as _;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent as _;

use super::contract::PortcullisToken::{Minted, Transfer};
use super::index::{Event, IndexedToken, Position};
use super::{CALL_TIMEOUT, EvmError, EvmTokenLedger, bounded};
use crate::LedgerError;

/// Most blocks asked for in one `eth_getLogs` (nodes cap the range).
const BLOCKS_PER_QUERY: u64 = 5_000;

/// The index's event in `log`, if it is one of `contract`'s and mined.
pub(crate) fn decode(contract: Address, log: &Log) -> Option<(Position, Event)> {
    if log.address() != contract {
        return None;
    }
    let at = Position {
        block: log.block_number?,
        log_index: log.log_index?,
    };
    let topic = *log.topic0()?;
    let event = if topic == Minted::SIGNATURE_HASH {
        let m = log.log_decode::<Minted>().ok()?.inner.data;
        Event::Minted {
            token_id: B256::from(m.tokenId.to_be_bytes::<32>()),
            token: m.token,
            owner: m.owner,
            attributes: m.attributes,
        }
    } else if topic == Transfer::SIGNATURE_HASH {
        let t = log.log_decode::<Transfer>().ok()?.inner.data;
        let token_id = B256::from(t.tokenId.to_be_bytes::<32>());
        if t.from == Address::ZERO {
            // A mint: `Minted`, in the same transaction, carries the token's id and owner.
            return None;
        } else if t.to == Address::ZERO {
            Event::Burned { token_id }
        } else {
            Event::Moved { token_id, to: t.to }
        }
    } else {
        return None;
    };
    Some((at, event))
}

/// How the index and the chain disagree about one token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The token (its ledger id when known, else its ERC-721 id).
    pub token: String,
    /// What differs.
    pub what: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.token, self.what)
    }
}

/// What [`EvmTokenLedger::verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The contract.
    pub contract: String,
    /// The last block read.
    pub block: u64,
    /// Events read from the chain.
    pub events: u64,
    /// Tokens on the chain.
    pub tokens: u64,
    /// Every disagreement; empty when the index matches the chain.
    pub differences: Vec<Difference>,
}

/// A token as the chain's events say, folded without the index's position rule.
#[derive(Clone, Debug)]
struct ChainToken {
    token: String,
    owner: Address,
    burned: bool,
    attributes: String,
}

impl EvmTokenLedger {
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, EvmError> {
        let filter = Filter::new()
            .address(self.inner.settings.contract)
            .from_block(from)
            .to_block(to);
        bounded(
            CALL_TIMEOUT,
            self.inner.settings.chain.provider().get_logs(&filter),
        )
        .await?
        .map_err(|e| EvmError::Read(e.to_string()))
    }

    async fn latest_block(&self) -> Result<u64, EvmError> {
        bounded(
            CALL_TIMEOUT,
            self.inner.settings.chain.provider().get_block_number(),
        )
        .await?
        .map_err(|e| EvmError::Read(e.to_string()))
    }

    /// Applies every event from the cursor to the latest block to the index. Returns the
    /// last block indexed.
    ///
    /// # Errors
    /// The node or the storage failed; what was applied stays applied.
    pub async fn sync(&self) -> Result<u64, LedgerError> {
        let _one_pass = self.inner.follow.lock().await;
        let latest = self.latest_block().await?;
        let mut from = self.inner.index.cursor().await?;
        while from <= latest {
            let to = latest.min(from.saturating_add(BLOCKS_PER_QUERY - 1));
            for log in self.logs(from, to).await? {
                if let Some((at, event)) = decode(self.inner.settings.contract, &log) {
                    self.inner.index.apply(at, &event).await?;
                }
            }
            self.inner.index.advance(to + 1).await?;
            from = to + 1;
        }
        Ok(latest)
    }

    /// Runs [`EvmTokenLedger::sync`] every `every` until the task is aborted, so that
    /// another node's writes (and writes whose receipt this node missed) reach the index.
    pub fn spawn_follower(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let ledger = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = ledger.sync().await {
                    tracing::warn!(error = %e, contract = %ledger.contract(), "evm ledger follower");
                }
            }
        })
    }

    /// Reads every event of the contract from the start block and checks that the index
    /// holds the same tokens with the same owner, state and attributes. The index is first
    /// brought up to date, so a difference is one the events cannot explain.
    ///
    /// # Errors
    /// The node or the storage failed (a difference is not an error: see the report).
    pub async fn verify(&self) -> Result<VerifyReport, LedgerError> {
        let block = self.sync().await?;
        let mut chain: BTreeMap<B256, ChainToken> = BTreeMap::new();
        let mut report = VerifyReport {
            contract: self.contract().to_string(),
            block,
            ..VerifyReport::default()
        };
        let mut from = self.inner.settings.start_block;
        while from <= block {
            let to = block.min(from.saturating_add(BLOCKS_PER_QUERY - 1));
            for log in self.logs(from, to).await? {
                let Some((_, event)) = decode(self.contract(), &log) else {
                    continue;
                };
                report.events += 1;
                fold(&mut chain, event, &mut report.differences);
            }
            from = to + 1;
        }
        report.tokens = chain.len() as u64;
        let indexed: BTreeMap<B256, IndexedToken> = self
            .inner
            .index
            .all()
            .await?
            .into_iter()
            .filter(|t| t.at.block <= block)
            .map(|t| (t.token_id, t))
            .collect();
        compare(&chain, &indexed, &mut report.differences);
        Ok(report)
    }
}

/// Applies one event to the chain's view; an event that breaks the contract's rules (which
/// the contract cannot emit) is reported.
fn fold(chain: &mut BTreeMap<B256, ChainToken>, event: Event, out: &mut Vec<Difference>) {
    let odd = |id: &B256, what: &str| Difference {
        token: id.to_string(),
        what: what.to_owned(),
    };
    match event {
        Event::Minted {
            token_id,
            token,
            owner,
            attributes,
        } => {
            if chain.contains_key(&token_id) {
                out.push(odd(&token_id, "minted twice on the chain"));
            }
            chain.insert(
                token_id,
                ChainToken {
                    token,
                    owner,
                    burned: false,
                    attributes,
                },
            );
        }
        Event::Moved { token_id, to } => match chain.get_mut(&token_id) {
            Some(t) => t.owner = to,
            None => out.push(odd(&token_id, "moved on the chain before it was minted")),
        },
        Event::Burned { token_id } => match chain.get_mut(&token_id) {
            Some(t) => t.burned = true,
            None => out.push(odd(&token_id, "burned on the chain before it was minted")),
        },
    }
}

fn compare(
    chain: &BTreeMap<B256, ChainToken>,
    indexed: &BTreeMap<B256, IndexedToken>,
    out: &mut Vec<Difference>,
) {
    for (id, c) in chain {
        let diff = |what: String| Difference {
            token: c.token.clone(),
            what,
        };
        let Some(i) = indexed.get(id) else {
            out.push(diff("on the chain, missing from the index".into()));
            continue;
        };
        if i.token != c.token {
            out.push(diff(format!("the index names it {:?}", i.token)));
        }
        if i.owner != c.owner {
            out.push(diff(format!(
                "owner {} on the chain, {} in the index",
                c.owner, i.owner
            )));
        }
        if i.burned != c.burned {
            out.push(diff(format!(
                "burned {} on the chain, {} in the index",
                c.burned, i.burned
            )));
        }
        if i.attributes != c.attributes {
            out.push(diff("attributes differ".into()));
        }
    }
    for (id, i) in indexed {
        if !chain.contains_key(id) {
            out.push(Difference {
                token: i.token.clone(),
                what: "in the index, never minted on the chain".into(),
            });
        }
    }
}
