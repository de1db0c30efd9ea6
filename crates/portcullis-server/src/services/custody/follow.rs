//! The follower: takes every open send to its end.
//!
//! Every `[custody] follow_interval_ms` it asks the node about sends still `pending` or
//! `unconfirmed`: a receipt settles a send as `mined` or `reverted`; an unconfirmed send the
//! node does not know is broadcast again, byte for byte (same hash, same nonce), so a send
//! in doubt is neither lost nor doubled. Every node runs one; settling is idempotent.

use portcullis_chain::{Chain, ChainError, TxHash};
use portcullis_store::model::{SendRecord, SendSettlement, SendStatus};

use crate::state::AppState;

/// Sends looked at per round.
const BATCH: i64 = 200;

/// Runs until the task is aborted. Does nothing without a configured chain.
pub async fn run_follower(state: AppState) {
    let Some(chain) = state.chain.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(state.config.custody.follow_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = round(&state, &chain).await {
            tracing::warn!(error = %e, "custodial send follower round failed");
        }
    }
}

async fn round(state: &AppState, chain: &Chain) -> Result<(), crate::services::ServiceError> {
    for send in state.store.custody.open_sends(BATCH).await? {
        let Some(hash) = send
            .tx_hash
            .as_deref()
            .and_then(|h| h.parse::<TxHash>().ok())
        else {
            continue;
        };
        match follow(state, chain, &send, hash).await {
            Ok(()) => {}
            // The node is down: try again next round, the rest too.
            Err(ChainError::Unreachable(_)) => break,
            Err(e) => tracing::warn!(send.id = %send.id, error = %e, "following a send failed"),
        }
    }
    Ok(())
}

async fn follow(
    state: &AppState,
    chain: &Chain,
    send: &SendRecord,
    hash: TxHash,
) -> Result<(), ChainError> {
    if let Some(receipt) = chain.receipt(hash).await? {
        let settlement = SendSettlement {
            status: if receipt.success {
                SendStatus::Mined
            } else {
                SendStatus::Reverted
            },
            error: (!receipt.success).then(|| "the transaction reverted".to_owned()),
            block: i64::try_from(receipt.block).ok(),
            gas_used: i64::try_from(receipt.gas_used).ok(),
            effective_gas_price: Some(receipt.effective_gas_price.to_string()),
        };
        if let Err(e) = state
            .store
            .custody
            .settle(&send.id, &settlement, state.now())
            .await
        {
            tracing::warn!(send.id = %send.id, error = %e, "recording a receipt failed");
        } else {
            tracing::info!(send.id = %send.id, tx.hash = %hash, status = settlement.status.as_str(), "custodial send settled");
        }
        return Ok(());
    }
    if send.status == SendStatus::Unconfirmed {
        let known = chain.knows(hash).await?;
        if !known {
            let Some(raw) = send.raw.as_deref() else {
                return Ok(());
            };
            match chain.send_raw(raw).await {
                Ok(_) => {}
                // "already known" and the like: the node has it after all.
                Err(ChainError::Rejected(why)) => {
                    tracing::warn!(send.id = %send.id, reason = %why, "re-broadcast refused");
                    if !chain.knows(hash).await? {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if let Err(e) = state
            .store
            .custody
            .confirm_broadcast(&send.id, state.now())
            .await
        {
            tracing::warn!(send.id = %send.id, error = %e, "recording a broadcast failed");
        }
    }
    Ok(())
}
