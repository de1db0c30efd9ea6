//! Recovery codes: ten single-use codes, shown once and kept only as keyed hashes (the
//! keyring's blind index, bound to the account), for when the other factors are out of
//! reach. Every use is audited and told to the owner by mail.

use portcullis_core::factor::FactorKind;
use portcullis_core::factor::recovery::{self, RecoveryCode};
use portcullis_core::ids::AccountId;
use portcullis_store::keyring::Keyring;
use serde_json::json;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::cooldown::{self, Message};
use crate::services::error::ServiceError;
use crate::services::factors::authorise;
use crate::services::mail::{self, Mail};
use crate::services::{accounts, audit};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

/// Blind-index domain of recovery-code hashes.
const RECOVERY_INDEX: &str = "recovery-code";

/// `POST /v1/me/recovery-codes`: a new set of ten codes (the old set stops working).
///
/// # Errors
/// A session that authenticated too long ago or below the account's level, storage failure.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn regenerate_recovery_codes(
    state: &AppState,
    auth: &AuthSession,
    client: &ClientInfo,
) -> Result<Vec<String>, ServiceError> {
    authorise(state, auth, FactorChange::RegenerateRecoveryCodes).await?;
    let codes = recovery::generate_set(state.entropy.as_ref());
    let keyring = state.keyring();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| recovery_hash(&keyring, auth.account, c))
        .collect();
    state
        .store
        .factors
        .replace_recovery_codes(auth.account, &hashes, state.now())
        .await?;
    audit::record(
        state,
        "factor.recovery_codes_generated",
        Some(auth.account.to_string()),
        None,
        Some(client),
        json!({"count": codes.len()}),
    )
    .await?;
    Ok(codes.iter().map(RecoveryCode::display).collect())
}

fn recovery_hash(keyring: &Keyring, account: AccountId, code: &RecoveryCode) -> Vec<u8> {
    keyring
        .blind_index(RECOVERY_INDEX, &format!("{account}:{}", code.normalised()))
        .to_vec()
}

fn count(event: &'static str) {
    metrics::counter!("portcullis_factor_events_total", "kind" => FactorKind::RecoveryCode.as_str(), "event" => event)
        .increment(1);
}

/// Spends a recovery code; on success the owner is told by mail and the use is audited.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn use_recovery_code(
    state: &AppState,
    account: AccountId,
    code: &str,
    client: &ClientInfo,
) -> Result<bool, ServiceError> {
    let Some(code) = RecoveryCode::parse(code) else {
        return Ok(false);
    };
    let hash = recovery_hash(&state.keyring(), account, &code);
    if !state
        .store
        .factors
        .use_recovery_code(account, &hash, state.now())
        .await?
    {
        count("failed");
        return Ok(false);
    }
    let left = state.store.factors.recovery_codes_left(account).await?;
    count("used");
    audit::record(
        state,
        "factor.recovery_code_used",
        Some(account.to_string()),
        None,
        Some(client),
        json!({"codes_left": left}),
    )
    .await?;
    let record = accounts::live_account(state, account).await?;
    let email = accounts::profile(state, &record).await?.email;
    let kind = Message::RecoveryCodeUsed;
    if !cooldown::admit(state, kind, &email, Some(account), Some(client)).await? {
        return Ok(true);
    }
    mail::enqueue(state, &Mail {
        to: email,
        subject: "A recovery code was used".into(),
        body: format!(
            "One of your Portcullis recovery codes was just used to sign in. {left} code(s) remain.\n\nIf this was not you, change your password and generate new recovery codes now.\n"
        ),
        link: None,
    })
    .await?;
    Ok(true)
}
