//! What the two passcodes (`image`, `gesture`) share: the secret is kept only as an
//! argon2id hash (the password's hasher and cost, a fresh salt per factor), sealed with the
//! account's data key, and the enrolment is confirmed at once, because the upload or the
//! drawing that enrols it is its own first proof.

use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use portcullis_core::login::management::FactorChange;
use portcullis_core::password::PasswordHash;
use zeroize::Zeroizing;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self, NewFactor, Proof};
use crate::services::factors::{FactorView, authorise, confirmed_of, secret_aad, view};
use crate::services::{accounts, passwords};
use crate::state::AppState;

/// The secret a passcode stands for, made on the hashing thread.
pub(super) type Secret = Box<dyn FnOnce() -> Zeroizing<Vec<u8>> + Send>;

/// Enrols a passcode of `kind` whose checked `secret` is hashed, sealed and stored as a
/// confirmed factor.
///
/// # Errors
/// A session below the account's level or too old (step up first), storage, keyring or
/// hashing failure.
pub(super) async fn enrol(
    state: &AppState,
    auth: &AuthSession,
    kind: FactorKind,
    label: String,
    secret: Secret,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    authorise(state, auth, FactorChange::Enrol).await?;
    let hash = passwords::hash_secret(state, secret).await?;
    let new = NewFactor {
        kind,
        label,
        secret: Some(hash.as_phc().as_bytes()),
    };
    let (record, ()) = enrolment::enrol(state, auth.account, new, client, async |_| Ok(())).await?;
    enrolment::confirmed(
        state,
        auth.account,
        &record,
        Proof::Step(0, state.now()),
        client,
    )
    .await?;
    let mut confirmed = view(&record);
    confirmed.confirmed = true;
    Ok(confirmed)
}

/// Whether `secret` matches one of the account's confirmed passcodes of `kind`; counted in
/// `portcullis_factor_events_total`.
///
/// # Errors
/// Storage, keyring or hashing failure.
pub(super) async fn check(
    state: &AppState,
    account: AccountId,
    kind: FactorKind,
    secret: Secret,
) -> Result<bool, ServiceError> {
    let factors = state.store.factors.list(account).await?;
    let key = accounts::data_key(state, account).await?;
    let mut stored = Vec::new();
    for f in confirmed_of(&factors, kind) {
        let blob = f
            .secret_ct
            .as_deref()
            .ok_or_else(|| ServiceError::unexpected("passcode factor without a hash"))?;
        let phc = key.decrypt(blob, &secret_aad(&f.id))?;
        let phc = String::from_utf8(phc.to_vec())
            .map_err(|e| ServiceError::unexpected_from("stored passcode hash", e))?;
        stored.push(PasswordHash::from_phc(phc));
    }
    let verified = !stored.is_empty() && passwords::verify_secret(state, secret, stored).await?;
    let event = if verified { "used" } else { "failed" };
    metrics::counter!("portcullis_factor_events_total", "kind" => kind.as_str(), "event" => event)
        .increment(1);
    Ok(verified)
}
