//! Enrolment at login (core's [`portcullis_core::login::enrolment`]): a login whose role
//! demands a second factor the account lacks moves to `enrolment_required` and hands out a
//! restricted token; with it the client can start and confirm a factor its role accepts, or
//! abandon the login, and nothing else.
//!
//! The token is an opaque 256-bit secret, not a JWT, and only its hash is kept, inside the
//! challenge: every verifier of access tokens (the `AuthSession` extractor, the guard,
//! forward-auth) refuses it as malformed, without a special case; there is no session and
//! no refresh token behind it; it expires with the challenge (`login.enrolment_ttl_secs`) and
//! is gone once the login completes or is abandoned.
//!
//! The confirmation finishes the login: the first code is checked by the factor's own
//! verifier and its time step is spent, so it is as much a proof of the new factor as a
//! login code would be (asking for a second code would only make the person wait for the
//! next time step). Before each use the account is checked again to have no second factor,
//! so the token can never add one beside a factor the owner already has.

use portcullis_core::factor::FactorKind;
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::enrolment as rule;
use portcullis_core::login::{Challenge, ChallengeError};
use portcullis_core::secret::OpaqueToken;
use portcullis_store::StoreError;
use portcullis_store::model::{AccountRecord, AccountStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{LoginState, LoginStep, guard, pending, take_attempt, verify};
use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self as factor_enrolment, Proof};
use crate::services::factors::{self, TotpEnrolment, check_label, totp};
use crate::state::AppState;

/// What a login in the `enrolment_required` state hands the client.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentOffer {
    /// The restricted token, shown once: `Authorization: Bearer …` on the challenge's
    /// `enrolment` operations only. It is not an access token and has no refresh token.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Kinds the role accepts that can be enrolled now, e.g. `totp`.
    #[schema(value_type = Vec<String>)]
    pub factors: Vec<FactorKind>,
}

const INVALID_TOKEN: ServiceError =
    ServiceError::Unauthenticated("the enrolment token is not valid");

const HAS_FACTOR: ServiceError = ServiceError::Forbidden(
    "this account has a second factor already: sign in with it, or ask an administrator",
);

/// A login stuck after the password for want of any second factor: opens an enrolment, or
/// refuses as before when enrolment is switched off, the account has a factor of a kind its
/// role does not accept, or the role accepts no kind that can be enrolled here.
pub(super) async fn require(
    state: &AppState,
    challenge: &mut Challenge,
    account: &AccountRecord,
    client: &ClientInfo,
    now: i64,
) -> Result<LoginStep, ServiceError> {
    let cfg = &state.config.login;
    let enrolled = factors::second_factors(state, account.id).await?;
    let Some(kinds) = rule::offer(
        cfg.enrol_at_login,
        &enrolled,
        &cfg.mfa_factors,
        &account.roles,
    ) else {
        return Err(ServiceError::Forbidden(
            "your role requires a second factor and none that it accepts is enrolled: ask an administrator",
        ));
    };
    let token = OpaqueToken::generate(state.entropy.as_ref());
    let expires_at = now + cfg.enrolment_ttl.as_secs_i64();
    challenge.require_enrolment(kinds.clone(), &token.hash(), expires_at)?;
    metrics::counter!("portcullis_logins_total", "outcome" => "enrolment_required").increment(1);
    audit::record(
        state,
        "login.enrolment_required",
        Some(account.id.to_string()),
        Some(challenge.id.to_string()),
        Some(client),
        json!({ "factors": kinds }),
    )
    .await?;
    let mut p = pending(challenge, Vec::new(), now);
    p.state = LoginState::EnrolmentRequired;
    p.enrolment = Some(EnrolmentOffer {
        token: token.expose().to_owned(),
        token_type: "Bearer",
        factors: kinds,
    });
    Ok(LoginStep::Pending(p))
}

/// The challenge `id` whose restricted token is `token`, with its version and whether the
/// login key has failures on record. An unknown challenge and a wrong token answer alike.
async fn open(
    state: &AppState,
    id: ChallengeId,
    token: &str,
    client: &ClientInfo,
) -> Result<(Challenge, i64, bool), ServiceError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    let presented = OpaqueToken::parse(token).ok_or(INVALID_TOKEN)?;
    let (challenge, version) = match state.store.challenges.get(id).await? {
        Some((c, v)) if c.session.is_none() && c.holds_enrolment_token(&presented.hash()) => (c, v),
        _ => return Err(INVALID_TOKEN),
    };
    let had_failures = guard(state, &challenge.login_key, client).await?;
    Ok((challenge, version, had_failures))
}

/// The challenge's account, still active and still without any second factor.
async fn bare_account(
    state: &AppState,
    challenge: &Challenge,
    client: &ClientInfo,
) -> Result<AccountRecord, ServiceError> {
    let id = challenge.account.ok_or(INVALID_TOKEN)?;
    let account = match state.store.accounts.get(id).await? {
        Some(a) if a.status == AccountStatus::Active => a,
        _ => return Err(ServiceError::Forbidden("this account may not log in")),
    };
    if !factors::second_factors(state, id).await?.is_empty() {
        audit::record(
            state,
            "login.enrolment_refused",
            Some(id.to_string()),
            Some(challenge.id.to_string()),
            Some(client),
            json!({ "reason": "factor_enrolled" }),
        )
        .await?;
        return Err(HAS_FACTOR);
    }
    Ok(account)
}

/// `POST /v1/sessions/challenges/{id}/enrolment/totp`: a new authenticator app for the
/// account of a login waiting for enrolment.
///
/// # Errors
/// A wrong token, an expired or spent login, TOTP not offered, an account that has a
/// factor already, rate limits.
#[tracing::instrument(skip_all, fields(challenge.id = %id))]
pub async fn start_totp(
    state: &AppState,
    id: ChallengeId,
    token: &str,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<TotpEnrolment, ServiceError> {
    let (challenge, _, _) = open(state, id, token, client).await?;
    challenge.admit_enrolment(FactorKind::Totp, state.now())?;
    let label = check_label(label, "Authenticator app")?;
    let account = bare_account(state, &challenge, client).await?;
    totp::begin(state, account.id, label, client).await
}

/// The time step of a first `code` for the pending factor `f`. Only the kinds of
/// [`rule::ENROLABLE_AT_LOGIN`] have a proof the server checks at confirmation.
async fn first_proof(
    state: &AppState,
    account: &AccountRecord,
    f: &portcullis_store::model::FactorRecord,
    code: &str,
    now: i64,
) -> Result<Option<i64>, ServiceError> {
    match f.kind {
        FactorKind::Totp => totp::first_step(state, account.id, f, code, now).await,
        FactorKind::Password
        | FactorKind::RecoveryCode
        | FactorKind::Passkey
        | FactorKind::Sms
        | FactorKind::EmailOtp
        | FactorKind::PatternOtp
        | FactorKind::Image
        | FactorKind::Gesture
        | FactorKind::Wallet => Err(ChallengeError::FactorNotOffered.into()),
    }
}

/// `POST /v1/sessions/challenges/{id}/enrolment/confirm`: the first code of the factor just
/// started confirms it and completes the login (201 with the session's tokens). A wrong
/// code counts against the challenge's attempts and the account's back-off.
///
/// # Errors
/// As [`start_totp`], an unknown pending factor, a wrong code, or a concurrent confirmation.
#[tracing::instrument(skip_all, fields(challenge.id = %id))]
pub async fn confirm(
    state: &AppState,
    id: ChallengeId,
    token: &str,
    factor_id: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let (mut challenge, version, had_failures) = open(state, id, token, client).await?;
    let account = bare_account(state, &challenge, client).await?;
    let listed = state.store.factors.list(account.id).await?;
    let f = listed
        .iter()
        .find(|f| f.id == factor_id && f.confirmed_at.is_none())
        .ok_or(ServiceError::NotFound)?;
    challenge.admit_enrolment(f.kind, state.now())?;
    take_attempt(state, &mut challenge).await?;
    let now = state.now();
    let Some(step) = first_proof(state, &account, f, code.trim(), now).await? else {
        return Err(refused(state, &mut challenge, version, &account, f, client, now).await?);
    };
    let progress = challenge.record_enrolment(f.kind, now)?;
    // Closing the grant is the claim: of concurrent confirmations only one writes it.
    match state.store.challenges.update(&challenge, version).await {
        Ok(()) => {}
        Err(StoreError::Concurrent) => {
            return Err(ServiceError::Conflict(
                "the enrolment was completed concurrently",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    factor_enrolment::confirmed(state, account.id, f, Proof::Step(step, now), client).await?;
    state.store.challenges.delete(id).await?;
    if had_failures {
        state.store.throttle.clear(&challenge.login_key).await?;
    }
    verify::proceed(state, &mut challenge, &account, progress, client, now).await
}

/// A wrong first code: counted for the challenge and the back-off, audited.
async fn refused(
    state: &AppState,
    challenge: &mut Challenge,
    version: i64,
    account: &AccountRecord,
    f: &portcullis_store::model::FactorRecord,
    client: &ClientInfo,
    now: i64,
) -> Result<ServiceError, ServiceError> {
    challenge.failures += 1;
    match state.store.challenges.update(challenge, version).await {
        Ok(()) | Err(StoreError::Concurrent) => {}
        Err(e) => return Err(e.into()),
    }
    state
        .store
        .throttle
        .record_failure(&challenge.login_key, now)
        .await?;
    factor_enrolment::refused(state, account.id, f, client).await?;
    Ok(ServiceError::Challenge(ChallengeError::Rejected {
        attempts_left: challenge.max_failures.saturating_sub(challenge.failures),
    }))
}

/// `DELETE /v1/sessions/challenges/{id}/enrolment`: abandons the login (the restricted
/// session's sign-out); the token stops working at once.
///
/// # Errors
/// A wrong token, rate limits.
#[tracing::instrument(skip_all, fields(challenge.id = %id))]
pub async fn abandon(
    state: &AppState,
    id: ChallengeId,
    token: &str,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let (challenge, _, _) = open(state, id, token, client).await?;
    state.store.challenges.delete(id).await?;
    audit::record(
        state,
        "login.abandoned",
        challenge.account.map(|a| a.to_string()),
        Some(id.to_string()),
        Some(client),
        json!({ "state": "enrolment_required" }),
    )
    .await
}
