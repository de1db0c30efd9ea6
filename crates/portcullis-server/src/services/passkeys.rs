//! Passkeys (WebAuthn, via `webauthn-rs`): registration as a factor, use as a second factor,
//! and passwordless login with a discoverable credential.
//!
//! Ceremony state (the challenge a browser must sign) stays on the server: a registration's
//! in the unconfirmed factor row, sealed with the account's data key; an authentication's in
//! the login challenge. A registered credential is sealed the same way, and its signature
//! counter is written back after each use so a cloned authenticator shows.

use portcullis_core::factor::FactorKind;
use portcullis_core::ids::AccountId;
use portcullis_core::login::{Challenge, ChallengeError};
use portcullis_store::model::FactorRecord;
use serde::Serialize;
use serde_json::json;
use url::Url;
use utoipa::ToSchema;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::auth::AuthSession;
use crate::config::Config;
use crate::extract::ClientInfo;
use crate::services::accounts;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::enrolment::{self, NewFactor, Proof};
use crate::services::factors::{FactorView, authorise, check_label, confirmed_of, secret_aad};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

const KIND: FactorKind = FactorKind::Passkey;

/// Builds the relying party from the configuration.
///
/// # Errors
/// An unusable rp id or origin.
pub fn relying_party(config: &Config) -> anyhow::Result<Webauthn> {
    let public = Url::parse(&config.public_url())?;
    let loopback_ip = matches!(public.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    let rp_id = config.webauthn.rp_id.clone().unwrap_or_else(|| {
        if loopback_ip {
            "localhost".to_owned()
        } else {
            public.host_str().unwrap_or("localhost").to_owned()
        }
    });
    let mut origins: Vec<Url> = config.webauthn.origins.clone();
    if origins.is_empty() {
        let mut origin = public.clone();
        if loopback_ip {
            origin
                .set_host(Some("localhost"))
                .map_err(|e| anyhow::anyhow!("webauthn origin: {e}"))?;
        }
        origins.push(origin);
    }
    let mut builder = WebauthnBuilder::new(&rp_id, &origins[0])
        .map_err(|e| anyhow::anyhow!("webauthn.rp_id {rp_id:?}: {e}"))?
        .rp_name("Portcullis");
    for extra in &origins[1..] {
        builder = builder.append_allowed_origin(extra);
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("webauthn: {e}"))
}

fn refused(what: &'static str) -> ServiceError {
    ServiceError::invalid(Invalid::WebauthnRefused, what)
}

/// What starting a passkey registration returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyEnrolment {
    /// Factor id; finish with the browser's answer.
    pub id: String,
    /// `PublicKeyCredentialCreationOptions` for `navigator.credentials.create`.
    #[schema(value_type = Object)]
    pub options: CreationChallengeResponse,
}

async fn passkeys_of(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<(FactorRecord, Passkey)>, ServiceError> {
    let key = accounts::data_key(state, account).await?;
    let mut out = Vec::new();
    let factors = state.store.factors.list(account).await?;
    for f in confirmed_of(&factors, KIND) {
        let Some(blob) = f.secret_ct.as_deref() else {
            continue;
        };
        let json = key.decrypt(blob, &secret_aad(&f.id))?;
        let passkey: Passkey = serde_json::from_slice(&json)
            .map_err(|e| ServiceError::unexpected_from("stored passkey", e))?;
        out.push((f.clone(), passkey));
    }
    Ok(out)
}

/// `POST /v1/me/factors/passkey`: creation options for the browser.
///
/// # Errors
/// A stale session, storage or keyring failure.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn start_registration(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<PasskeyEnrolment, ServiceError> {
    let label = check_label(label, "Passkey")?;
    // What the input says is checked first: no step-up only to hear the input was wrong.
    authorise(state, auth, FactorChange::Enrol).await?;
    let account = accounts::live_account(state, auth.account).await?;
    let profile = accounts::profile(state, &account).await?;
    let existing: Vec<_> = passkeys_of(state, auth.account)
        .await?
        .iter()
        .map(|(_, p)| p.cred_id().clone())
        .collect();
    let display = profile
        .display_name
        .clone()
        .unwrap_or_else(|| profile.email.clone());
    let (mut options, registration) = state
        .webauthn
        .start_passkey_registration(
            auth.account.as_uuid(),
            &profile.email,
            &display,
            Some(existing),
        )
        .map_err(|e| ServiceError::unexpected_from("webauthn", e))?;
    // Ask for a discoverable credential where the authenticator can make one, so the same
    // passkey also signs in without a password.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
    }
    let sealed_state = serde_json::to_vec(&registration)?;
    let new = NewFactor {
        kind: KIND,
        label,
        secret: Some(&sealed_state),
    };
    let (record, ()) = enrolment::enrol(state, auth.account, new, client, async |_| Ok(())).await?;
    Ok(PasskeyEnrolment {
        id: record.id,
        options,
    })
}

/// `POST /v1/me/factors/passkey/{id}/finish`: verifies the browser's attestation.
///
/// # Errors
/// A session below the account's level, an unknown enrolment, or a credential that does not
/// answer its challenge.
#[tracing::instrument(skip_all, fields(account.id = %auth.account, factor.id = %id))]
pub async fn finish_registration(
    state: &AppState,
    auth: &AuthSession,
    id: &str,
    credential: &RegisterPublicKeyCredential,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    authorise(state, auth, FactorChange::Confirm).await?;
    let account = auth.account;
    let factors = state.store.factors.list(account).await?;
    let f = factors
        .iter()
        .find(|f| f.id == id && f.kind == KIND && f.confirmed_at.is_none())
        .ok_or(ServiceError::NotFound)?;
    let key = accounts::data_key(state, account).await?;
    let blob = f.secret_ct.as_deref().ok_or(ServiceError::NotFound)?;
    let registration: PasskeyRegistration =
        serde_json::from_slice(&key.decrypt(blob, &secret_aad(id))?)
            .map_err(|e| ServiceError::unexpected_from("registration state", e))?;
    let passkey = match state
        .webauthn
        .finish_passkey_registration(credential, &registration)
    {
        Ok(p) => p,
        Err(e) => {
            enrolment::refused(state, account, f, client).await?;
            tracing::info!(error = %e, "passkey registration refused");
            return Err(refused(
                "the authenticator's answer does not match the registration",
            ));
        }
    };
    let sealed = key.encrypt(&serde_json::to_vec(&passkey)?, &secret_aad(id))?;
    let proof = Proof::Secret(&sealed, state.now());
    enrolment::confirmed(state, account, f, proof, client).await?;
    let now = state.now();
    Ok(FactorView {
        id: id.to_owned(),
        kind: KIND,
        label: f.label.clone(),
        created_at: f.created_at,
        confirmed: true,
        last_used_at: Some(now),
    })
}

/// Request options for a login (or step-up) waiting for a passkey; the ceremony state goes
/// into `challenge`.
///
/// # Errors
/// The account has no passkey.
#[tracing::instrument(skip_all, fields(challenge.id = %challenge.id))]
pub async fn authentication_options(
    state: &AppState,
    challenge: &mut Challenge,
) -> Result<RequestChallengeResponse, ServiceError> {
    let account = challenge
        .account
        .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?;
    let keys: Vec<Passkey> = passkeys_of(state, account)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if keys.is_empty() {
        return Err(ServiceError::Challenge(ChallengeError::FactorNotOffered));
    }
    let (options, auth_state) = state
        .webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| ServiceError::unexpected_from("webauthn", e))?;
    challenge.webauthn = Some(serde_json::to_value(&auth_state)?);
    Ok(options)
}

/// Options for a passwordless login with a discoverable credential.
///
/// # Errors
/// A WebAuthn failure.
pub fn discoverable_options(
    state: &AppState,
    challenge: &mut Challenge,
) -> Result<RequestChallengeResponse, ServiceError> {
    let (options, auth_state) = state
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| ServiceError::unexpected_from("webauthn", e))?;
    challenge.webauthn = Some(json!({ "discoverable": serde_json::to_value(&auth_state)? }));
    Ok(options)
}

async fn record_use(
    state: &AppState,
    account: AccountId,
    factor: &FactorRecord,
    mut passkey: Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<(), ServiceError> {
    passkey.update_credential(result);
    let key = accounts::data_key(state, account).await?;
    let sealed = key.encrypt(&serde_json::to_vec(&passkey)?, &secret_aad(&factor.id))?;
    state
        .store
        .factors
        .update_secret(&factor.id, &sealed, state.now())
        .await?;
    metrics::counter!("portcullis_factor_events_total", "kind" => KIND.as_str(), "event" => "used")
        .increment(1);
    Ok(())
}

/// Checks an assertion for `challenge`. For a passwordless challenge it also names the
/// account (set on the challenge only once the signature verified). Returns whether it was
/// accepted.
///
/// # Errors
/// Storage or keyring failure; a bad assertion is `Ok(false)`.
#[tracing::instrument(skip_all, fields(challenge.id = %challenge.id))]
pub async fn verify_assertion(
    state: &AppState,
    challenge: &mut Challenge,
    credential: &PublicKeyCredential,
) -> Result<bool, ServiceError> {
    let Some(pending) = challenge.webauthn.take() else {
        return Ok(false);
    };
    if let Some(discoverable) = pending.get("discoverable") {
        let auth_state: DiscoverableAuthentication = serde_json::from_value(discoverable.clone())?;
        let Ok((user, cred_id)) = state
            .webauthn
            .identify_discoverable_authentication(credential)
        else {
            return Ok(false);
        };
        let account = AccountId::from_uuid(user);
        let Some(record) = state.store.accounts.get(account).await? else {
            return Ok(false);
        };
        if record.status == portcullis_store::model::AccountStatus::Deleted {
            return Ok(false);
        }
        let keys = passkeys_of(state, account).await?;
        let Some((factor, passkey)) = keys
            .into_iter()
            .find(|(_, p)| p.cred_id().as_slice() == cred_id)
        else {
            return Ok(false);
        };
        let dk = DiscoverableKey::from(&passkey);
        return match state
            .webauthn
            .finish_discoverable_authentication_v2(credential, auth_state, &dk)
        {
            Ok(result) => {
                challenge.account = Some(account);
                record_use(state, account, &factor, passkey, &result).await?;
                Ok(true)
            }
            Err(e) => {
                tracing::info!(error = %e, "passkey assertion refused");
                Ok(false)
            }
        };
    }
    let Some(account) = challenge.account else {
        return Ok(false);
    };
    let auth_state: PasskeyAuthentication = serde_json::from_value(pending)?;
    let result = match state
        .webauthn
        .finish_passkey_authentication(credential, &auth_state)
    {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            metrics::counter!("portcullis_factor_events_total", "kind" => KIND.as_str(), "event" => "failed").increment(1);
            return Ok(false);
        }
    };
    let keys = passkeys_of(state, account).await?;
    match keys
        .into_iter()
        .find(|(_, p)| p.cred_id() == result.cred_id())
    {
        Some((factor, passkey)) => {
            record_use(state, account, &factor, passkey, &result).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Whether `account` has a confirmed passkey.
///
/// # Errors
/// Storage failure.
pub async fn has_passkey(state: &AppState, account: AccountId) -> Result<bool, ServiceError> {
    Ok(state
        .store
        .factors
        .list(account)
        .await?
        .iter()
        .any(|f| f.kind == KIND && f.confirmed_at.is_some()))
}
