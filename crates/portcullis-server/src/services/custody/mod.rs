//! Custodial wallets: secp256k1 keys generated and kept by the server for an account, used
//! by front-end applications (an API key) on behalf of a signed-in user (an access token).
//!
//! - `seal`: the key at rest, openable only with the keyring and the user's password;
//! - `wallets`: create, list, read, balance and history (from the node);
//! - `send`: a transfer, with step-up, limits and the nonce manager;
//! - `sign`: EIP-191 signatures for dApp log-ins;
//! - `follow`: the worker that follows sends to their receipts.
//!
//! The private key exists in memory only between opening it and signing; it is never in an
//! answer, a log line, an error or the audit ledger, and nothing exports it.

mod follow;
mod seal;
mod send;
mod sign;
mod wallets;

pub use follow::run_follower;
pub use seal::rewrap_keys;
pub use send::{SendOrder, SendView, send, send_of, sends};
pub use sign::{SignatureView, sign_message};
pub use wallets::{BalanceView, TransferView, WalletView, balance, create, get, history, list};

use portcullis_chain::{Chain, ChainError};

use crate::services::error::{CustodyRefusal, ServiceError};
use crate::state::AppState;

/// A new wallet or send id: a UUIDv7, ordered by creation also within a millisecond (the
/// uuid crate keeps a counter), so lists sort newest first by id.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The configured chain, or the refusal that says there is none.
fn chain(state: &AppState) -> Result<&Chain, ServiceError> {
    state
        .chain
        .as_ref()
        .ok_or(ServiceError::Custody(CustodyRefusal::ChainUnavailable))
}

/// A read from the node that failed: the node is down or answered nonsense.
fn chain_failure(e: ChainError) -> ServiceError {
    match e {
        ChainError::Rejected(why) => ServiceError::Custody(CustodyRefusal::ChainRejected(why)),
        other => {
            tracing::warn!(error = %other, "chain node call failed");
            ServiceError::Custody(CustodyRefusal::ChainUnavailable)
        }
    }
}
