//! Making and reading custodial wallets.

use portcullis_chain::{Address, CustodialKey, HistoryQuery, TransferRecord};
use portcullis_core::ids::AccountId;
use portcullis_core::password::Password;
use portcullis_store::model::CustodialWalletRecord;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{chain, chain_failure, seal};
use crate::extract::ClientInfo;
use crate::services::error::{CustodyRefusal, ServiceError};
use crate::services::factors::check_label;
use crate::services::{accounts, audit};
use crate::state::AppState;

/// A wallet as its owner sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WalletView {
    /// Id.
    pub id: String,
    /// Its Ethereum address (EIP-55).
    pub address: String,
    /// The owner's name for it.
    pub label: String,
    /// The chain it sends on.
    pub chain_id: u64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A balance, read from the node.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The address.
    pub address: String,
    /// Wei, decimal.
    pub wei: String,
    /// The block it was read at.
    pub block: u64,
}

/// One movement of ETH to or from a wallet, read from the node.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TransferView {
    /// Transaction hash.
    pub tx_hash: String,
    /// Block.
    pub block: u64,
    /// `sent` or `received`.
    pub direction: &'static str,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Wei, decimal.
    pub value: String,
    /// Whether it happened inside a contract call.
    pub internal: bool,
    /// Whether the call failed (the value did not move).
    pub failed: bool,
}

impl From<&TransferRecord> for TransferView {
    fn from(t: &TransferRecord) -> Self {
        Self {
            tx_hash: t.tx_hash.to_string(),
            block: t.block,
            direction: if t.outgoing { "sent" } else { "received" },
            from: t.from.to_string(),
            to: t.to.to_string(),
            value: t.value.to_string(),
            internal: t.internal,
            failed: t.failed,
        }
    }
}

fn view(state: &AppState, w: &CustodialWalletRecord) -> WalletView {
    WalletView {
        id: w.id.clone(),
        address: w.address.clone(),
        label: w.label.clone(),
        chain_id: state.chain.as_ref().map_or(0, |c| c.chain_id()),
        created_at: w.created_at,
    }
}

/// The account's wallet `id`.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown id or another account's wallet.
pub(super) async fn owned(
    state: &AppState,
    account: AccountId,
    id: &str,
) -> Result<CustodialWalletRecord, ServiceError> {
    // Ids are UUIDs; anything else cannot name a wallet.
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ServiceError::NotFound);
    }
    state
        .store
        .custody
        .wallet(account, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Makes a wallet: a new key, sealed with the keyring and `password`, which must be the
/// account's password (so a typo cannot seal a wallet nobody can open).
///
/// # Errors
/// No chain configured, the account's most wallets, a wrong password, a bad label.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
pub async fn create(
    state: &AppState,
    account_id: AccountId,
    password: Password,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<WalletView, ServiceError> {
    chain(state)?;
    let label = check_label(label, "Wallet")?;
    let existing = state.store.custody.wallets_of(account_id).await?;
    if existing.len() >= state.config.custody.max_wallets as usize {
        return Err(ServiceError::Custody(CustodyRefusal::TooManyWallets));
    }
    let account = accounts::live_account(state, account_id).await?;
    accounts::check_password(state, &account, password.clone())
        .await
        .map_err(|e| match e {
            ServiceError::InvalidCredentials => {
                ServiceError::Custody(CustodyRefusal::WrongPassword)
            }
            other => other,
        })?;
    let key = CustodialKey::generate()
        .map_err(|e| ServiceError::unexpected_from("generating a wallet key", e))?;
    let now = state.now();
    let id = super::new_id();
    let sealed = seal::seal(state, &id, &key, password).await?;
    let record = CustodialWalletRecord {
        id,
        account: account_id,
        address: key.address().to_string(),
        label,
        sealed_key: sealed.sealed_key,
        wrapped_key: sealed.wrapped_key,
        kdf_salt: sealed.kdf_salt,
        kdf_params: sealed.kdf_params,
        next_nonce: 0,
        created_at: now,
    };
    drop(key);
    state.store.custody.create_wallet(&record).await?;
    audit::record(
        state,
        "custody.wallet_created",
        Some(account_id.to_string()),
        Some(record.id.clone()),
        Some(client),
        json!({ "address": record.address }),
    )
    .await?;
    tracing::info!(wallet.id = %record.id, wallet.address = %record.address, "custodial wallet created");
    Ok(view(state, &record))
}

/// The account's wallets, oldest first.
///
/// # Errors
/// Storage failure.
pub async fn list(state: &AppState, account: AccountId) -> Result<Vec<WalletView>, ServiceError> {
    let wallets = state.store.custody.wallets_of(account).await?;
    Ok(wallets.iter().map(|w| view(state, w)).collect())
}

/// One of the account's wallets.
///
/// # Errors
/// [`ServiceError::NotFound`].
pub async fn get(
    state: &AppState,
    account: AccountId,
    id: &str,
) -> Result<WalletView, ServiceError> {
    Ok(view(state, &owned(state, account, id).await?))
}

/// A wallet's balance, from the node.
///
/// # Errors
/// Not found; the node unreachable.
pub async fn balance(
    state: &AppState,
    account: AccountId,
    id: &str,
) -> Result<BalanceView, ServiceError> {
    let wallet = owned(state, account, id).await?;
    let address = parse_stored_address(&wallet.address)?;
    let balance = chain(state)?
        .balance(address)
        .await
        .map_err(chain_failure)?;
    Ok(BalanceView {
        address: wallet.address,
        wei: balance.wei.to_string(),
        block: balance.block,
    })
}

/// A wallet's transfers, newest first, from the node's traces over the last
/// `[custody] history_blocks` blocks.
///
/// # Errors
/// Not found; the node unreachable.
pub async fn history(
    state: &AppState,
    account: AccountId,
    id: &str,
    limit: usize,
) -> Result<Vec<TransferView>, ServiceError> {
    let wallet = owned(state, account, id).await?;
    let address = parse_stored_address(&wallet.address)?;
    let query = HistoryQuery {
        blocks: state.config.custody.history_blocks,
        limit: limit.clamp(1, 200),
    };
    let records = chain(state)?
        .history(address, query)
        .await
        .map_err(chain_failure)?;
    Ok(records.iter().map(TransferView::from).collect())
}

pub(super) fn parse_stored_address(s: &str) -> Result<Address, ServiceError> {
    s.parse()
        .map_err(|_| ServiceError::unexpected("a stored wallet address does not parse"))
}
