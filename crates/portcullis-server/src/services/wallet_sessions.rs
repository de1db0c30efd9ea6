//! The ledger side of wallet sessions: the ReqNFT that keeps a wallet session alive and the
//! AuthNFT the wallet gets back when the session ends.
//!
//! A wallet login spends the account's AuthNFT and mints a ReqNFT naming the session. The
//! session ends by logout, by revocation, by a lost presence or by expiry; [`end`] (the first
//! three) burns the ReqNFT and mints a fresh AuthNFT to the wallet, so the next login has a
//! token to spend. A session that ended without it (expiry, a crash between the two steps, a
//! revocation from the store alone such as refresh-token reuse) is retired when the wallet
//! next logs in ([`ready_for_login`]).

use portcullis_core::eth;
use portcullis_core::ids::{AccountId, SessionId};
use portcullis_core::login::ChallengeError;
use portcullis_store::model::{FactorRecord, SessionRecord};

use crate::cluster;
use crate::services::error::ServiceError;
use crate::services::factors::wallet::{self as bound_wallet, Bound};
use crate::state::AppState;

/// The account's wallet with a live AuthNFT, ready for a login. If its AuthNFT was spent by
/// a session that has ended since, that session is retired first.
///
/// # Errors
/// [`ChallengeError::FactorNotOffered`] without a wallet; [`ServiceError::Conflict`] while
/// the wallet is signed in on a live session; ledger or storage failure.
pub(crate) async fn ready_for_login(
    state: &AppState,
    account: AccountId,
) -> Result<Bound, ServiceError> {
    let (factor, bound) = bound_wallet::bound_wallets(state, account)
        .await?
        .into_iter()
        .next()
        .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?;
    let token = state.ledgers().auth.state(&bound.auth_token).await?;
    if token.is_some_and(|t| !t.burned) {
        return Ok(bound);
    }
    let holder = bound
        .session
        .as_deref()
        .and_then(|s| s.parse::<SessionId>().ok());
    if let Some(sid) = holder
        && let Some(session) = state.store.sessions.get(sid).await?
        && session.is_live(state.now())
    {
        return Err(ServiceError::Conflict(
            "this wallet is signed in on another session: log out there first",
        ));
    }
    renew(state, account, &factor, bound).await
}

/// Ends `session` for `reason` and, for a wallet session, retires it on the ledgers.
/// Returns whether this call ended it (false: it had ended already).
///
/// # Errors
/// Storage or ledger failure.
pub async fn end(
    state: &AppState,
    session: &SessionRecord,
    reason: &str,
) -> Result<bool, ServiceError> {
    let ended = state
        .store
        .sessions
        .revoke(session.id, reason, state.now())
        .await?;
    if ended {
        cluster::revocations_changed(state).await;
        // Only the request that ended the session retires it, so two ends (a logout and a
        // lost presence) mint one AuthNFT.
        retire(state, session).await?;
    }
    Ok(ended)
}

/// For a wallet session that has ended: burns its ReqNFT and gives the wallet a fresh
/// AuthNFT (if the wallet is still bound to this session).
///
/// # Errors
/// Storage or ledger failure.
pub async fn retire(state: &AppState, session: &SessionRecord) -> Result<(), ServiceError> {
    let Some(binding) = &session.wallet else {
        return Ok(());
    };
    burn_req_token(state, &binding.req_token).await?;
    let sid = session.id.to_string();
    for (factor, bound) in bound_wallet::bound_wallets(state, session.account_id).await? {
        if bound.session.as_deref() == Some(sid.as_str()) {
            renew(state, session.account_id, &factor, bound).await?;
        }
    }
    Ok(())
}

/// Whether the ReqNFT `token` is live (minted and not burned).
///
/// # Errors
/// Ledger failure.
pub async fn req_token_live(state: &AppState, token: &str) -> Result<bool, ServiceError> {
    Ok(state
        .ledgers()
        .req
        .state(token)
        .await?
        .is_some_and(|t| !t.burned))
}

async fn burn_req_token(state: &AppState, token: &str) -> Result<(), ServiceError> {
    if req_token_live(state, token).await? {
        // A concurrent burn makes the ledger refuse this one: the token is gone either way.
        match state.ledgers().req.burn(state.now(), token).await {
            Ok(_) | Err(portcullis_ledger::LedgerError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Burns the spent binding's ReqNFT (if live), mints a fresh AuthNFT to the wallet and
/// records it with the factor.
async fn renew(
    state: &AppState,
    account: AccountId,
    factor: &FactorRecord,
    bound: Bound,
) -> Result<Bound, ServiceError> {
    if let Some(req) = &bound.req_token {
        burn_req_token(state, req).await?;
    }
    let address = eth::parse_address(&bound.address)
        .map_err(|_| ServiceError::unexpected("bound wallet address unreadable"))?;
    let fresh = Bound {
        address: bound.address,
        auth_token: bound_wallet::mint_auth_token(state, &address).await?,
        session: None,
        req_token: None,
    };
    bound_wallet::rebind(state, account, factor, &fresh).await?;
    Ok(fresh)
}
