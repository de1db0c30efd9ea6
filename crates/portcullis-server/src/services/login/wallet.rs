//! The wallet factor of a login (or a step-up): the message, the answer, and the end of the
//! login that spends the AuthNFT and mints the ReqNFT.
//!
//! 1. `POST /v1/sessions/challenges/{id}/wallet-message` with the session key (a public JWK)
//!    starts a ceremony ([`WalletCeremony`]): a fresh nonce, the account's wallet, the key's
//!    thumbprint. It is kept with the challenge; the two texts to sign are rendered from it.
//! 2. The `wallet` answer brings the two signatures. Both are checked against the texts the
//!    server renders again, and (for a login) the wallet must own the account's live AuthNFT.
//!    Whatever the verdict, the ceremony is spent: a replayed answer finds no ceremony, a new
//!    one has a new nonce.
//! 3. When the login completes, the AuthNFT goes to the issuer and is burned (a second login
//!    racing this one is refused by the ledger), a ReqNFT is minted to the wallet naming the
//!    session, the key and the expiry, and the session's tokens are bound to the key.

use portcullis_core::eth::WalletSignature;
use portcullis_core::eth::login::WalletCeremony;
use portcullis_core::ids::{ChallengeId, SessionId};
use portcullis_core::login::{Assurance, Challenge, ChallengeError, FactorKind};
use portcullis_core::token::dpop::SessionKey;
use portcullis_store::model::{AccountRecord, WalletBinding};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{guard, load};
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::wallet as bound_wallet;
use crate::services::sessions::{self, Login, TokenResponse};
use crate::services::wallet_sessions;
use crate::state::AppState;

/// The owner an AuthNFT is handed to before it is burned: the issuer took it.
pub const ISSUER: &str = "portcullis";

/// What the wallet signs for this step.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletMessage {
    /// The Sign-In with Ethereum message (EIP-4361), to sign with `personal_sign`.
    pub message: String,
    /// The delegation of the session key, to sign with `personal_sign` too.
    pub delegation: String,
    /// The wallet that must sign (EIP-55).
    pub address: String,
    /// Until when the message may be signed, unix seconds.
    pub expires_at: i64,
}

/// Who will hold the session's tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHolder {
    /// A client that signs a DPoP proof with the session key for every request (the API):
    /// the tokens are bound to the key.
    SessionKey,
    /// A browser on the pages, whose tokens stay in HTTP-only, same-site cookies: the
    /// tokens are not bound to the key (a page cannot sign every navigation), the session
    /// is a wallet session all the same (AuthNFT spent, ReqNFT minted).
    Cookies,
}

/// The two signatures of a wallet answer (`0x` and 130 hex digits each).
pub struct WalletAnswer {
    /// Over [`WalletMessage::message`].
    pub signature: String,
    /// Over [`WalletMessage::delegation`].
    pub delegation_signature: String,
}

/// Starts the wallet step of challenge `id` for the session key `session_key`.
///
/// # Errors
/// Unknown or spent challenge; a challenge not waiting for the wallet; a key that is not a
/// public ES256K or EdDSA JWK; a wallet still signed in on another live session.
#[tracing::instrument(skip_all, fields(challenge.id = %id))]
pub async fn wallet_message(
    state: &AppState,
    id: ChallengeId,
    session_key: &serde_json::Value,
    step_up_of: Option<SessionId>,
    holder: TokenHolder,
    client: &ClientInfo,
) -> Result<WalletMessage, ServiceError> {
    let (mut challenge, version) = load(state, id, step_up_of).await?;
    guard(state, &challenge.login_key, client).await?;
    let now = state.now();
    challenge.admit(FactorKind::Wallet, now)?;
    let account = challenge
        .account
        .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?;
    let jkt = SessionKey::from_jwk(session_key)
        .map_err(|e| ServiceError::invalid(Invalid::SessionKey, e.to_string()))?
        .thumbprint();
    let bound = match step_up_of {
        None => wallet_sessions::ready_for_login(state, account).await?,
        Some(_) => bound_wallet::bound_wallets(state, account)
            .await?
            .into_iter()
            .next()
            .map(|(_, bound)| bound)
            .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?,
    };
    let w = &state.config.wallet;
    let ceremony = WalletCeremony {
        address: bound.address,
        nonce: bound_wallet::new_nonce(state),
        issued_at: now,
        expires_at: now + w.message_ttl.as_secs_i64(),
        session_expires_at: now + state.config.tokens.session_absolute.as_secs_i64(),
        jkt,
        proven: false,
        cookie: holder == TokenHolder::Cookies,
    };
    let texts = ceremony
        .texts(&bound_wallet::siwe_rules(state), &w.statement)
        .map_err(|e| ServiceError::unexpected(format!("wallet texts not written: {e}")))?;
    let message = WalletMessage {
        message: texts.message,
        delegation: texts.delegation,
        address: ceremony.address.clone(),
        expires_at: ceremony.expires_at,
    };
    challenge.wallet = Some(ceremony);
    state.store.challenges.update(&challenge, version).await?;
    Ok(message)
}

fn signature(s: &str) -> Result<WalletSignature, ServiceError> {
    s.trim()
        .parse()
        .map_err(|e: portcullis_core::eth::EthError| {
            ServiceError::invalid(Invalid::WalletSignature, e.to_string())
        })
}

/// Checks a wallet answer; spends the challenge's ceremony whatever the verdict.
///
/// # Errors
/// No wallet message asked for yet; a signature that is not 65 bytes of hex (not counted as
/// a failed answer: nothing was checked); ledger failure.
pub(super) async fn verify_answer(
    state: &AppState,
    challenge: &mut Challenge,
    answer: &WalletAnswer,
) -> Result<bool, ServiceError> {
    let Some(ceremony) = challenge.wallet.take().filter(|c| !c.proven) else {
        return Err(ServiceError::invalid(
            Invalid::WalletSignature,
            "ask for the wallet message first (POST …/wallet-message); each is answered once",
        ));
    };
    let signed = signature(&answer.signature)?;
    let delegated = signature(&answer.delegation_signature)?;
    let rules = bound_wallet::siwe_rules(state);
    let statement = &state.config.wallet.statement;
    if let Err(e) = ceremony.verify(&rules, statement, &signed, &delegated, state.now()) {
        tracing::info!(reason = %e, "wallet answer refused");
        return Ok(false);
    }
    if challenge.session.is_none() && !owns_live_auth_token(state, challenge, &ceremony).await? {
        tracing::info!("wallet answer refused: the AuthNFT is not live and the wallet's");
        return Ok(false);
    }
    challenge.wallet = Some(WalletCeremony {
        proven: true,
        ..ceremony
    });
    Ok(true)
}

/// Whether the ceremony's wallet owns the account's AuthNFT and it is live.
async fn owns_live_auth_token(
    state: &AppState,
    challenge: &Challenge,
    ceremony: &WalletCeremony,
) -> Result<bool, ServiceError> {
    let Some(account) = challenge.account else {
        return Ok(false);
    };
    let Some((_, bound)) = bound_wallet::bound_wallets(state, account)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(false);
    };
    let token = state.ledgers().auth.state(&bound.auth_token).await?;
    Ok(bound.address == ceremony.address
        && token.is_some_and(|t| !t.burned && t.owner == ceremony.address))
}

/// Whether `challenge` proved a wallet, so that its completion must spend the AuthNFT.
pub(super) fn proven(challenge: &Challenge) -> bool {
    challenge.wallet.as_ref().is_some_and(|c| c.proven)
}

/// Ends a login that proved a wallet: the AuthNFT is handed to the issuer and burned, the
/// ReqNFT minted, and the session created bound to the session key.
///
/// # Errors
/// [`ServiceError::Conflict`] when the AuthNFT was spent by a concurrent login; ledger,
/// storage or signing failure.
pub(super) async fn complete(
    state: &AppState,
    challenge: &Challenge,
    account: &AccountRecord,
    assurance: Assurance,
    amr: Vec<String>,
    client: &ClientInfo,
) -> Result<TokenResponse, ServiceError> {
    let ceremony = challenge
        .wallet
        .as_ref()
        .ok_or_else(|| ServiceError::unexpected("wallet login without its ceremony"))?;
    let (factor, bound) = bound_wallet::bound_wallets(state, account.id)
        .await?
        .into_iter()
        .find(|(_, b)| b.address == ceremony.address)
        .ok_or(ServiceError::Conflict(
            "the wallet was replaced or removed during the login",
        ))?;
    let session = sessions::new_session_id(state);
    let now = state.now();
    let ledgers = state.ledgers();
    // The ledger refuses a transfer of a token that is not live and the wallet's: of two
    // logins racing with one AuthNFT, one wins.
    ledgers
        .auth
        .transfer(now, &bound.auth_token, &bound.address, ISSUER)
        .await
        .map_err(|_| ServiceError::Conflict("the wallet's AuthNFT was spent by another login"))?;
    ledgers.auth.burn(now, &bound.auth_token).await?;
    let req_token = uuid::Uuid::now_v7().to_string();
    let attributes = json!({
        "session": session.to_string(),
        "jkt": ceremony.jkt,
        "exp": ceremony.session_expires_at,
        "bound": if ceremony.cookie { "cookie" } else { "dpop" },
    });
    let serde_json::Value::Object(attributes) = attributes else {
        return Err(ServiceError::unexpected(
            "ReqNFT attributes are not an object",
        ));
    };
    ledgers
        .req
        .mint(now, &req_token, &bound.address, attributes)
        .await?;
    let taken = bound_wallet::Bound {
        session: Some(session.to_string()),
        req_token: Some(req_token.clone()),
        ..bound.clone()
    };
    bound_wallet::rebind(state, account.id, &factor, &taken).await?;
    let login = Login {
        id: session,
        assurance,
        amr,
        wallet: Some((
            WalletBinding {
                jkt: (!ceremony.cookie).then(|| ceremony.jkt.clone()),
                address: bound.address,
                req_token,
            },
            ceremony.session_expires_at,
        )),
    };
    sessions::issue_session(state, account, login, client).await
}
