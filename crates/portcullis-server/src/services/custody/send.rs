//! Sending from a custodial wallet.
//!
//! In order, each step refusing before anything is sent:
//! 1. the session's step-up (a TOTP or passkey authentication at most
//!    `[custody] send_max_age_secs` old; otherwise an RFC 9470 challenge);
//! 2. the order's form (address, decimal wei, hex data);
//! 3. the password opens the key (outside the lock: argon2 takes a while);
//! 4. under the account's send lock (the nonce manager, `CustodyRepo::begin_send`): the
//!    spending limits over the last 24 hours, the nonce (the larger of the stored next nonce
//!    and the node's pending count), EIP-1559 fees, the gas estimate, and the balance
//!    against value + gas × max fee;
//! 5. sign, broadcast, record the send with its nonce, release the lock.
//!
//! A refusal by a rule or by the node is recorded as a `refused` send (nothing sent, no
//! nonce taken) and answered with its reason. A broadcast whose outcome is unknown (the node
//! stopped answering) keeps its nonce as `unconfirmed`; the follower sends the same bytes
//! again until the node knows them. Either way the send is on record, never lost.

use portcullis_chain::{Address, Bytes, ChainError, SignedTransfer, TransferOrder, TxParams, U256};
use portcullis_core::custody::{check_limits, parse_wei, send_authorised};
use portcullis_core::password::Password;
use portcullis_store::model::{CustodialWalletRecord, SendRecord, SendStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::wallets::{owned, parse_stored_address};
use super::{chain, chain_failure, seal};
use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{CustodyRefusal, Invalid, ServiceError};
use crate::state::AppState;

/// Longest call data accepted, in bytes.
const MAX_DATA: usize = 32 * 1024;

/// What the user asks to send.
pub struct SendOrder {
    /// Recipient, `0x` and 40 hex digits (EIP-55 when mixed case).
    pub to: String,
    /// Wei, decimal.
    pub value: String,
    /// Call data, `0x`-hex; absent for a plain transfer.
    pub data: Option<String>,
    /// The account's password, which opens the wallet's key.
    pub password: Password,
}

/// A send as its owner sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SendView {
    /// Id.
    pub id: String,
    /// `pending` (broadcast), `unconfirmed` (broadcast in doubt, being sent again), `mined`,
    /// `reverted` or `refused` (nothing sent).
    pub status: &'static str,
    /// The nonce it took.
    pub nonce: Option<i64>,
    /// Transaction hash.
    pub tx_hash: Option<String>,
    /// Recipient.
    pub to: String,
    /// Wei, decimal.
    pub value: String,
    /// Gas limit.
    pub gas_limit: Option<i64>,
    /// EIP-1559 `maxFeePerGas`, wei.
    pub max_fee_per_gas: Option<String>,
    /// EIP-1559 `maxPriorityFeePerGas`, wei.
    pub max_priority_fee_per_gas: Option<String>,
    /// Block it was mined in.
    pub block: Option<i64>,
    /// Gas used.
    pub gas_used: Option<i64>,
    /// Wei per gas paid.
    pub effective_gas_price: Option<String>,
    /// Why it was refused or reverted.
    pub error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl From<&SendRecord> for SendView {
    fn from(s: &SendRecord) -> Self {
        Self {
            id: s.id.clone(),
            status: s.status.as_str(),
            nonce: s.nonce,
            tx_hash: s.tx_hash.clone(),
            to: s.to.clone(),
            value: s.value_wei.clone(),
            gas_limit: s.gas_limit,
            max_fee_per_gas: s.max_fee_per_gas.clone(),
            max_priority_fee_per_gas: s.max_priority_fee_per_gas.clone(),
            block: s.block,
            gas_used: s.gas_used,
            effective_gas_price: s.effective_gas_price.clone(),
            error: s.error.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

fn parse_order(order: &SendOrder) -> Result<TransferOrder, ServiceError> {
    let to = parse_address(&order.to)?;
    let value = parse_wei(&order.value).ok_or_else(|| {
        ServiceError::invalid(Invalid::Amount, "value must be an amount of wei in decimal")
    })?;
    let data = match order.data.as_deref() {
        None | Some("") | Some("0x") => Bytes::new(),
        Some(hex_data) => {
            let digits = hex_data.strip_prefix("0x").unwrap_or(hex_data);
            let bytes = hex::decode(digits).map_err(|_| {
                ServiceError::invalid(Invalid::CallData, "data must be 0x-prefixed hex")
            })?;
            if bytes.len() > MAX_DATA {
                return Err(ServiceError::invalid(
                    Invalid::CallData,
                    "data is longer than 32 KiB",
                ));
            }
            Bytes::from(bytes)
        }
    };
    Ok(TransferOrder { to, value, data })
}

/// An address as users write it: `0x` and 40 hex digits; mixed case must be EIP-55.
fn parse_address(s: &str) -> Result<Address, ServiceError> {
    let bad = || {
        ServiceError::invalid(
            Invalid::WalletAddress,
            "to must be 0x and 40 hex digits (EIP-55 when mixed case)",
        )
    };
    let digits = s.strip_prefix("0x").ok_or_else(bad)?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mixed = digits.bytes().any(|b| b.is_ascii_lowercase())
        && digits.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        Address::parse_checksummed(s, None).map_err(|_| bad())
    } else {
        s.parse().map_err(|_| bad())
    }
}

/// A record of this send, before its outcome is known.
fn record(
    state: &AppState,
    wallet: &CustodialWalletRecord,
    order: &TransferOrder,
    status: SendStatus,
) -> SendRecord {
    let now = state.now();
    SendRecord {
        id: super::new_id(),
        wallet_id: wallet.id.clone(),
        account: wallet.account,
        nonce: None,
        to: order.to.to_string(),
        value_wei: order.value.to_string(),
        data: order.data.to_vec(),
        tx_hash: None,
        raw: None,
        gas_limit: None,
        max_fee_per_gas: None,
        max_priority_fee_per_gas: None,
        status,
        error: None,
        block: None,
        gas_used: None,
        effective_gas_price: None,
        created_at: now,
        updated_at: now,
    }
}

/// Records a send refused before anything was sent, and answers with the refusal.
async fn refuse(
    state: &AppState,
    mut send: SendRecord,
    refusal: CustodyRefusal,
) -> Result<SendView, ServiceError> {
    send.status = SendStatus::Refused;
    send.error = Some(refusal.to_string());
    state.store.custody.record_refused(&send).await?;
    tracing::info!(send.id = %send.id, wallet.id = %send.wallet_id, reason = %refusal, "custodial send refused");
    Err(ServiceError::Custody(refusal))
}

/// Sends from `wallet_id` as `auth`'s account; see the module documentation.
///
/// # Errors
/// Step-up required, a bad order, a wrong password, a limit, the balance, the node.
#[tracing::instrument(skip_all, fields(account.id = %auth.account, wallet.id = wallet_id))]
pub async fn send(
    state: &AppState,
    auth: &AuthSession,
    wallet_id: &str,
    order: SendOrder,
    client: &ClientInfo,
) -> Result<SendView, ServiceError> {
    let max_age = state.config.custody.send_max_age.as_secs() as i64;
    send_authorised(&auth.claims, max_age, state.now()).map_err(|demand| {
        ServiceError::StepUpRequired {
            detail: "a send needs a recent TOTP or passkey authentication: step up first",
            acr: Some(demand.acr),
            max_age: demand.max_age,
        }
    })?;
    let transfer = parse_order(&order)?;
    let chain = chain(state)?;
    let wallet = owned(state, auth.account, wallet_id).await?;
    let from = parse_stored_address(&wallet.address)?;
    let key = seal::open(state, &wallet, order.password).await?;
    let limits = state
        .config
        .custody
        .limits()
        .map_err(|e| ServiceError::unexpected_from("reading the spending limits", e))?;

    let mut lease = state
        .store
        .custody
        .begin_send(auth.account, &wallet.id)
        .await?;
    let mut send = record(state, &wallet, &transfer, SendStatus::Pending);

    let since = state.now() - 24 * 3600;
    let (mut wallet_spent, mut account_spent) = (U256::ZERO, U256::ZERO);
    for (wallet_of, wei) in lease.spent_since(since).await? {
        let wei = parse_wei(&wei).unwrap_or(U256::MAX);
        account_spent = account_spent.saturating_add(wei);
        if wallet_of == wallet.id {
            wallet_spent = wallet_spent.saturating_add(wei);
        }
    }
    if let Err(limit) = check_limits(&limits, transfer.value, wallet_spent, account_spent) {
        drop(lease);
        return refuse(state, send, CustodyRefusal::Limit(limit)).await;
    }

    let prepared = async {
        let pending = chain.pending_nonce(from).await?;
        let fees = chain.fees().await?;
        let gas_limit = chain.estimate_gas(from, &transfer).await?;
        let balance = chain.balance(from).await?;
        Ok::<_, ChainError>((pending, fees, gas_limit, balance))
    }
    .await;
    let (pending, fees, gas_limit, balance) = match prepared {
        Ok(p) => p,
        Err(e) => {
            drop(lease);
            let refusal = match chain_failure(e) {
                ServiceError::Custody(r) => r,
                _ => CustodyRefusal::ChainUnavailable,
            };
            return refuse(state, send, refusal).await;
        }
    };
    let most_fee = U256::from(gas_limit).saturating_mul(U256::from(fees.max_fee_per_gas));
    if transfer.value.saturating_add(most_fee) > balance.wei {
        drop(lease);
        return refuse(state, send, CustodyRefusal::InsufficientFunds).await;
    }
    let stored = u64::try_from(lease.stored_nonce()).unwrap_or_default();
    let nonce = stored.max(pending);
    let params = TxParams {
        chain_id: chain.chain_id(),
        nonce,
        gas_limit,
        fees,
    };
    let SignedTransfer { hash, raw } = portcullis_chain::sign_transfer(&key, &transfer, params)
        .map_err(|e| ServiceError::unexpected_from("signing a transfer", e))?;
    drop(key);
    send.nonce = Some(nonce as i64);
    send.tx_hash = Some(hash.to_string());
    send.gas_limit = Some(gas_limit as i64);
    send.max_fee_per_gas = Some(fees.max_fee_per_gas.to_string());
    send.max_priority_fee_per_gas = Some(fees.max_priority_fee_per_gas.to_string());

    match chain.send_raw(&raw).await {
        Ok(_) => send.status = SendStatus::Pending,
        Err(ChainError::Rejected(why)) => {
            drop(lease);
            send.nonce = None;
            return refuse(state, send, CustodyRefusal::ChainRejected(why)).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, tx.hash = %hash, "broadcast in doubt; the follower sends it again");
            send.status = SendStatus::Unconfirmed;
        }
    }
    send.raw = Some(raw);
    lease.commit(&send).await?;
    audit::record(
        state,
        "custody.send",
        Some(auth.account.to_string()),
        Some(wallet.id.clone()),
        Some(client),
        json!({
            "send": send.id,
            "tx_hash": send.tx_hash,
            "nonce": nonce,
            "to": send.to,
            "value_wei": send.value_wei,
            "status": send.status,
        }),
    )
    .await?;
    tracing::info!(send.id = %send.id, tx.hash = %hash, tx.nonce = nonce, "custodial send broadcast");
    Ok(SendView::from(&send))
}

/// A wallet's sends, newest first.
///
/// # Errors
/// Not found.
pub async fn sends(
    state: &AppState,
    auth: &AuthSession,
    wallet_id: &str,
    limit: i64,
) -> Result<Vec<SendView>, ServiceError> {
    let wallet = owned(state, auth.account, wallet_id).await?;
    let sends = state
        .store
        .custody
        .sends(&wallet.id, limit.clamp(1, 200))
        .await?;
    Ok(sends.iter().map(SendView::from).collect())
}

/// One send.
///
/// # Errors
/// Not found.
pub async fn send_of(
    state: &AppState,
    auth: &AuthSession,
    wallet_id: &str,
    send_id: &str,
) -> Result<SendView, ServiceError> {
    let wallet = owned(state, auth.account, wallet_id).await?;
    let send = state
        .store
        .custody
        .send(&wallet.id, send_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(SendView::from(&send))
}
