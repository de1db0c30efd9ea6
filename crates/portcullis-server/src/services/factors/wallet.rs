//! Wallets: an Ethereum address bound to the account by a signed Sign-In with Ethereum
//! message, and the account's AuthNFT minted to that address on the `auth` ledger.
//!
//! Enrolment is two requests. The first names the address and gets back the exact text to
//! sign (a SIWE message with this server's domain, URI and chain, and a fresh nonce), kept
//! sealed with the pending factor. The second brings the signature: the text is rebuilt
//! from the sealed fields, so nothing the client sends is trusted but the signature, and the
//! nonce dies with the pending factor when it is confirmed. Confirming mints the AuthNFT and
//! replaces any earlier wallet of the account (its AuthNFT burned). Removing the wallet
//! burns its AuthNFT.

use portcullis_core::eth::siwe::{self, SiweChallenge, SiweRules};
use portcullis_core::eth::{self, Address, WalletSignature};
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use portcullis_core::login::management::FactorChange;
use portcullis_store::model::FactorRecord;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use utoipa::ToSchema;

use crate::auth::AuthSession;
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::accounts;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::enrolment::{self, NewFactor, Proof};
use crate::services::factors::{FactorView, authorise, check_label, secret_aad, view};
use crate::state::AppState;

const KIND: FactorKind = FactorKind::Wallet;

/// The sealed state of a pending wallet: what the SIWE message said.
#[derive(Serialize, Deserialize)]
struct Pending {
    address: String,
    nonce: String,
    issued_at: i64,
    expires_at: i64,
}

/// The sealed state of a confirmed wallet: its address, its AuthNFT and, while a login
/// holds the wallet, the session that spent the AuthNFT and its ReqNFT.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Bound {
    /// EIP-55 address.
    pub address: String,
    /// The id of the account's AuthNFT on the `auth` ledger (burned while `session` holds
    /// the wallet).
    pub auth_token: String,
    /// The wallet session that spent `auth_token`, until it is retired.
    #[serde(default)]
    pub session: Option<String>,
    /// That session's ReqNFT on the `req` ledger.
    #[serde(default)]
    pub req_token: Option<String>,
}

/// A started wallet enrolment: the pending factor and the text its wallet must sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletEnrolment {
    /// The pending factor; confirm it with the signature (`POST /v1/me/factors/{id}/confirm`,
    /// `code` = the signature, `0x` and 130 hex digits).
    pub factor: FactorView,
    /// The Sign-In with Ethereum message to sign (EIP-191 `personal_sign`), exactly.
    pub message: String,
    /// Until when the message may be signed, unix seconds.
    pub expires_at: i64,
}

/// The SIWE rules of this server: its public URL's authority and origin, the configured
/// chain.
pub(crate) fn siwe_rules(state: &AppState) -> SiweRules {
    let uri = state.config.public_url();
    let domain = uri
        .split_once("://")
        .map_or(uri.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let w = &state.config.wallet;
    SiweRules {
        domain,
        uri,
        chain_id: w.chain_id,
        max_age: w.message_ttl.as_secs_i64(),
        skew: w.clock_skew.as_secs_i64(),
    }
}

/// A fresh SIWE nonce: 96 random bits as 24 hex digits (EIP-4361 wants 8+ alphanumerics).
pub(crate) fn new_nonce(state: &AppState) -> String {
    hex::encode(state.random::<12>())
}

/// `POST /v1/me/factors/wallet`: starts binding `address`; returns the message to sign.
///
/// # Errors
/// [`Invalid::WalletAddress`], a bad label, a session that must step up first, storage.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_wallet(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    address: &str,
    client: &ClientInfo,
) -> Result<WalletEnrolment, ServiceError> {
    authorise(state, auth, FactorChange::Enrol).await?;
    let label = check_label(label, "Wallet")?;
    let address = eth::parse_address(address)
        .map_err(|e| ServiceError::invalid(Invalid::WalletAddress, e.to_string()))?;
    let now = state.now();
    let pending = Pending {
        address: eth::checksummed(&address),
        nonce: new_nonce(state),
        issued_at: now,
        expires_at: now + state.config.wallet.message_ttl.as_secs_i64(),
    };
    let message = message(state, &pending)?;
    let sealed = serde_json::to_vec(&pending)
        .map_err(|_| ServiceError::unexpected("pending wallet does not serialise"))?;
    let new = NewFactor {
        kind: KIND,
        label,
        secret: Some(&sealed),
    };
    let (record, ()) = enrolment::enrol(state, auth.account, new, client, async |_| Ok(())).await?;
    Ok(WalletEnrolment {
        factor: view(&record),
        message,
        expires_at: pending.expires_at,
    })
}

fn message(state: &AppState, pending: &Pending) -> Result<String, ServiceError> {
    let address = eth::parse_address(&pending.address)
        .map_err(|_| ServiceError::unexpected("sealed wallet address unreadable"))?;
    siwe::challenge_message(
        &siwe_rules(state),
        &SiweChallenge {
            address,
            statement: state.config.wallet.statement.clone(),
            nonce: pending.nonce.clone(),
            issued_at: pending.issued_at,
            expires_at: pending.expires_at,
        },
    )
    .map_err(|e| ServiceError::unexpected(format!("SIWE message not written: {e}")))
}

/// Confirms the pending wallet `f` with `signature` over its message: mints the AuthNFT,
/// confirms the factor, and replaces the account's earlier wallets.
///
/// # Errors
/// [`Invalid::WalletSignature`] with the reason (the pending factor stays until it expires
/// or is replaced); a concurrent confirmation; ledger or storage failure.
pub(super) async fn confirm(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    signature: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let pending: Pending = open(state, account, f).await?;
    let now = state.now();
    let checked = signature
        .trim()
        .parse::<WalletSignature>()
        .map_err(siwe::SiweError::from)
        .and_then(|sig| {
            let text = message(state, &pending).map_err(|_| siwe::SiweError::NotCanonical)?;
            siwe::verify(&siwe_rules(state), &text, &sig, &pending.nonce, now)
        });
    let signed = match checked {
        Ok(signed) => signed,
        Err(e) => {
            enrolment::refused(state, account, f, client).await?;
            return Err(ServiceError::invalid(
                Invalid::WalletSignature,
                e.to_string(),
            ));
        }
    };
    let earlier = bound_wallets(state, account).await?;
    let bound = Bound {
        address: eth::checksummed(&signed.address),
        auth_token: mint_auth_token(state, &signed.address).await?,
        session: None,
        req_token: None,
    };
    let sealed = seal(state, account, &f.id, &bound).await?;
    if let Err(e) =
        enrolment::confirmed(state, account, f, Proof::Secret(&sealed, now), client).await
    {
        // The factor was confirmed by a concurrent request: this AuthNFT belongs to nobody.
        burn(state, &bound).await?;
        return Err(e);
    }
    for (old, old_bound) in earlier {
        burn(state, &old_bound).await?;
        state.store.factors.delete(&old.id, account).await?;
    }
    Ok(())
}

/// Mints a fresh AuthNFT (a UUIDv7 id) owned by `address`.
///
/// # Errors
/// Ledger failure.
pub(crate) async fn mint_auth_token(
    state: &AppState,
    address: &Address,
) -> Result<String, ServiceError> {
    let token = uuid::Uuid::now_v7().to_string();
    state
        .ledgers()
        .auth
        .mint(state.now(), &token, &eth::checksummed(address), Map::new())
        .await?;
    Ok(token)
}

/// Burns the wallet's AuthNFT unless it is burned already (a login took it).
async fn burn(state: &AppState, bound: &Bound) -> Result<(), ServiceError> {
    let auth = &state.ledgers().auth;
    match auth.state(&bound.auth_token).await? {
        Some(token) if !token.burned => {
            auth.burn(state.now(), &bound.auth_token).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Called before a wallet factor is deleted: its AuthNFT is burned.
///
/// # Errors
/// Keyring, storage or ledger failure.
pub(crate) async fn before_removal(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
) -> Result<(), ServiceError> {
    if f.confirmed_at.is_none() {
        return Ok(());
    }
    let bound: Bound = open(state, account, f).await?;
    burn(state, &bound).await
}

/// The account's confirmed wallets with what they are bound to.
///
/// # Errors
/// Keyring or storage failure.
pub(crate) async fn bound_wallets(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<(FactorRecord, Bound)>, ServiceError> {
    let mut found = Vec::new();
    for f in state.store.factors.list(account).await? {
        if f.kind == KIND && f.confirmed_at.is_some() {
            let bound = open(state, account, &f).await?;
            found.push((f, bound));
        }
    }
    Ok(found)
}

/// Records that the wallet `f` is now bound to `bound` (its AuthNFT spent by a login, or a
/// fresh one after the login's session ended).
///
/// # Errors
/// Keyring or storage failure.
pub(crate) async fn rebind(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
    bound: &Bound,
) -> Result<(), ServiceError> {
    let sealed = seal(state, account, &f.id, bound).await?;
    state
        .store
        .factors
        .update_secret(&f.id, &sealed, state.now())
        .await?;
    Ok(())
}

async fn seal<T: Serialize>(
    state: &AppState,
    account: AccountId,
    factor: &str,
    value: &T,
) -> Result<Vec<u8>, ServiceError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|_| ServiceError::unexpected("wallet state does not serialise"))?;
    Ok(accounts::data_key(state, account)
        .await?
        .encrypt(&bytes, &secret_aad(factor))?)
}

async fn open<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
) -> Result<T, ServiceError> {
    let blob = f
        .secret_ct
        .as_deref()
        .ok_or_else(|| ServiceError::unexpected("wallet factor without its state"))?;
    let bytes = accounts::data_key(state, account)
        .await?
        .decrypt(blob, &secret_aad(&f.id))?;
    serde_json::from_slice(&bytes).map_err(|_| ServiceError::unexpected("wallet state unreadable"))
}
