//! Login: the challenge state machine and the policy of core (`portcullis_core::login`),
//! driven against the store. This module does the I/O; what to ask for, how long to make a
//! failing account wait and what a step-up adds are core's pure decisions
//! ([`policy`]).
//!
//! Known and unknown e-mails take the same path: a challenge is created either way, an
//! unknown account's password is checked against a dummy hash, and every failure gives the
//! same answer. Failures are counted per e-mail blind index for back-off, which slows guessing
//! without letting an attacker lock a user out for good.
//!
//! An answer to a stored challenge first takes one of its attempts in the store, atomically,
//! and is checked only then: concurrent answers cannot be checked more often than the bound
//! allows, whichever of them wins the write of the challenge.
//!
//! `verify` checks one answer and records the verdict; `step_up` raises the assurance of a
//! live session; `enrolment` lets a login whose role demands a second factor the account
//! lacks enrol one with a restricted token.

pub mod enrolment;
mod step_up;
mod verify;
pub mod wallet;

use portcullis_core::contact::Email;
use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
use portcullis_core::login::policy::{self, Backoff};
use portcullis_core::login::{Challenge, ChallengeError, FactorKind};
use portcullis_core::password::Password;
use portcullis_store::{StoreError, pii};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::sessions::TokenResponse;
use crate::services::{factors, passkeys};
use crate::state::AppState;

pub use step_up::step_up;
pub use wallet::{TokenHolder, WalletAnswer, WalletMessage, wallet_message};

/// What a pending login waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    /// An answer to one of `factors`.
    MfaRequired,
    /// The enrolment of a second factor with the restricted token of `enrolment`.
    EnrolmentRequired,
}

/// A login that needs more factors.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingLogin {
    /// Answer at `POST /v1/sessions/challenges/{challenge_id}`.
    pub challenge_id: String,
    /// Factors still needed.
    #[schema(value_type = Vec<String>)]
    pub factors: Vec<FactorKind>,
    /// Seconds until the challenge expires.
    pub expires_in: i64,
    /// WebAuthn request options, for a passwordless passkey login.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    /// `mfa_required`, or `enrolment_required` when the role demands a second factor the
    /// account lacks: `factors` is then empty and `enrolment` says what to enrol.
    pub state: LoginState,
    /// The restricted token and the kinds to enrol, in the `enrolment_required` state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<enrolment::EnrolmentOffer>,
}

/// Where a login step ended.
pub enum LoginStep {
    /// Policy met: a session was created.
    Complete(TokenResponse),
    /// A step-up succeeded: the session's assurance rose; a new access token.
    SteppedUp(TokenResponse),
    /// More factors needed.
    Pending(PendingLogin),
}

/// An answer to a challenge.
pub enum Answer {
    /// The account password.
    Password(Password),
    /// A code from an authenticator app.
    Totp(String),
    /// One of the recovery codes.
    RecoveryCode(String),
    /// A code sent by SMS.
    Sms(String),
    /// A code sent by e-mail.
    EmailOtp(String),
    /// A WebAuthn assertion.
    Passkey(Box<webauthn_rs::prelude::PublicKeyCredential>),
    /// The dots of a sent pattern, in the order drawn.
    PatternOtp(Vec<u32>),
    /// The bytes of an image passcode, uploaded again.
    Image(Vec<u8>),
    /// A gesture passcode in canonical form.
    Gesture(String),
    /// The wallet's signatures over the SIWE message and the session key delegation.
    Wallet(WalletAnswer),
}

impl Answer {
    /// The factor this answers.
    pub fn factor(&self) -> FactorKind {
        match self {
            Answer::Password(_) => FactorKind::Password,
            Answer::Totp(_) => FactorKind::Totp,
            Answer::RecoveryCode(_) => FactorKind::RecoveryCode,
            Answer::Sms(_) => FactorKind::Sms,
            Answer::EmailOtp(_) => FactorKind::EmailOtp,
            Answer::Passkey(_) => FactorKind::Passkey,
            Answer::PatternOtp(_) => FactorKind::PatternOtp,
            Answer::Image(_) => FactorKind::Image,
            Answer::Gesture(_) => FactorKind::Gesture,
            Answer::Wallet(_) => FactorKind::Wallet,
        }
    }
}

/// The second factors `account` has enrolled that `roles` may use (`login.mfa_factors`).
async fn usable_second_factors(
    state: &AppState,
    account: AccountId,
    roles: &[String],
) -> Result<Vec<FactorKind>, ServiceError> {
    let enrolled = factors::second_factors(state, account).await?;
    Ok(policy::allowed_second_factors(
        &state.config.login.mfa_factors,
        roles,
        enrolled,
    ))
}

/// Refuses while the back-off after `failures` failures, the last at `last`, runs.
fn check_backoff(state: &AppState, failures: i64, last: i64) -> Result<(), ServiceError> {
    let cfg = &state.config.login;
    let backoff = Backoff {
        free_failures: cfg.free_failures,
        base_secs: cfg.backoff_base.as_secs_i64(),
        max_secs: cfg.backoff_max.as_secs_i64(),
    };
    match backoff.retry_after(failures, last, state.now()) {
        Some(retry_after) => {
            metrics::counter!("portcullis_rate_limited_total", "scope" => "backoff").increment(1);
            Err(ServiceError::RateLimited { retry_after })
        }
        None => Ok(()),
    }
}

/// Rate limits and back-off; returns whether failures are on record (to clear on success).
async fn guard(state: &AppState, key: &[u8], client: &ClientInfo) -> Result<bool, ServiceError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    state.limits.check_account(key).await?;
    match state.store.throttle.get(key).await? {
        Some((failures, last)) => {
            check_backoff(state, failures, last)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// A challenge still to be answered, with its version. A step-up challenge is answered only
/// by its own session, a login challenge only without one; anything else looks expired.
async fn load(
    state: &AppState,
    id: ChallengeId,
    step_up_of: Option<SessionId>,
) -> Result<(Challenge, i64), ServiceError> {
    match state.store.challenges.get(id).await? {
        Some((challenge, version)) if challenge.session == step_up_of => Ok((challenge, version)),
        _ => Err(ServiceError::Challenge(ChallengeError::Expired)),
    }
}

fn new_challenge(
    state: &AppState,
    account: Option<AccountId>,
    plan: policy::Plan,
    now: i64,
) -> Challenge {
    Challenge::start(
        ChallengeId::new(state.clock.now_millis(), state.random::<10>()),
        account,
        plan.available,
        plan.required,
        state.config.login.challenge,
        now,
    )
}

fn pending(challenge: &Challenge, factors: Vec<FactorKind>, now: i64) -> PendingLogin {
    PendingLogin {
        challenge_id: challenge.id.to_string(),
        factors,
        expires_in: challenge.expires_in(now),
        options: None,
        state: LoginState::MfaRequired,
        enrolment: None,
    }
}

/// `POST /v1/sessions`: starts a login, answering the password at once when given.
///
/// # Errors
/// Invalid credentials, rate limits, or an account that may not log in.
#[tracing::instrument(skip_all, fields(account.id = tracing::field::Empty))]
pub async fn start(
    state: &AppState,
    email: &str,
    password: Option<Password>,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let email = Email::parse(email)?;
    let key = pii::email_index(&state.keyring(), email.as_str());
    let had_failures = guard(state, &key, client).await?;
    let account = state.store.accounts.find_by_email_index(&key).await?;
    if let Some(a) = &account {
        tracing::Span::current().record("account.id", tracing::field::display(a.id));
    }
    // An unknown account is looked up like a known one, so timing tells nothing.
    let lookup = account
        .as_ref()
        .map_or(AccountId::from_uuid(uuid::Uuid::nil()), |a| a.id);
    let roles = account.as_ref().map(|a| a.roles.as_slice());
    let second = usable_second_factors(state, lookup, roles.unwrap_or_default()).await?;
    let required = policy::required_factors(&state.config.login.required_factors, roles);
    let plan = policy::login_plan(required, second);
    let now = state.now();
    let mut challenge = new_challenge(state, account.as_ref().map(|a| a.id), plan, now);
    challenge.login_key = key;
    let Some(password) = password else {
        state.store.challenges.insert(&challenge).await?;
        return Ok(LoginStep::Pending(pending(
            &challenge,
            challenge.remaining(),
            now,
        )));
    };
    let answered = Answer::Password(password);
    let step = verify::answer_factor(
        state,
        &mut challenge,
        account,
        answered,
        had_failures,
        client,
    )
    .await;
    if let Ok(LoginStep::Pending(_)) = &step {
        state.store.challenges.insert(&challenge).await?;
    }
    step
}

/// `POST /v1/sessions/challenges/{id}`: answers one factor of a pending login.
///
/// # Errors
/// Unknown or spent challenge, invalid answer, rate limits.
#[tracing::instrument(skip_all, fields(challenge.id = %id, factor.kind = %answer.factor()))]
pub async fn answer(
    state: &AppState,
    id: ChallengeId,
    answer: Answer,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let (mut challenge, version) = load(state, id, step_up_of).await?;
    let had_failures = guard(state, &challenge.login_key.clone(), client).await?;
    challenge.admit(answer.factor(), state.now())?;
    let account = match challenge.account {
        Some(id) => state.store.accounts.get(id).await?,
        None => None,
    };
    take_attempt(state, &mut challenge).await?;
    let step =
        verify::answer_factor(state, &mut challenge, account, answer, had_failures, client).await;
    match &step {
        Ok(LoginStep::Complete(_) | LoginStep::SteppedUp(_)) => {
            state.store.challenges.delete(id).await?
        }
        Ok(LoginStep::Pending(_)) => {
            state.store.challenges.release_attempt(id).await?;
            state.store.challenges.update(&challenge, version).await?
        }
        // The failure is counted already; of concurrent wrong answers each is told so, not
        // that another request wrote the challenge first.
        Err(_) => match state.store.challenges.update(&challenge, version).await {
            Ok(()) | Err(StoreError::Concurrent) => {}
            Err(e) => return Err(e.into()),
        },
    }
    step
}

/// Takes one of the challenge's attempts in the store before its answer is checked, so that
/// concurrent answers are checked at most `max_failures` times in all (a verified answer
/// gives its attempt back). Sets the challenge's failures to those counted before this one,
/// answers in flight included.
///
/// # Errors
/// [`ChallengeError::Exhausted`] when no attempt is left: the answer is not checked.
async fn take_attempt(state: &AppState, challenge: &mut Challenge) -> Result<(), ServiceError> {
    let taken = state
        .store
        .challenges
        .reserve_attempt(challenge.id, challenge.max_failures)
        .await?
        .ok_or(ChallengeError::Exhausted)?;
    challenge.failures = taken.saturating_sub(1);
    Ok(())
}

/// Sends the code of an SMS or e-mail factor, or the pattern of a pattern OTP, that
/// `challenge` waits for.
///
/// # Errors
/// Unknown or spent challenge, a factor it does not wait for, the send bound.
#[tracing::instrument(skip_all, fields(challenge.id = %id, factor.kind = %factor))]
pub async fn send_code(
    state: &AppState,
    id: ChallengeId,
    factor: FactorKind,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<i64, ServiceError> {
    let (challenge, _) = load(state, id, step_up_of).await?;
    if !factor.is_sent() {
        return Err(ServiceError::invalid(
            Invalid::NotASentCode,
            "only sms, email_otp and pattern_otp secrets are sent",
        ));
    }
    guard(state, &challenge.login_key, client).await?;
    challenge.admit(factor, state.now())?;
    let account = challenge
        .account
        .ok_or(ServiceError::Challenge(ChallengeError::FactorNotOffered))?;
    factors::send_challenge_code(state, account, factor, &challenge.id.to_string(), client).await
}

/// `POST /v1/sessions` with `passkey: true`: a passwordless login with a discoverable
/// credential. The answer carries the WebAuthn request options.
///
/// # Errors
/// Rate limits, storage failure.
#[tracing::instrument(skip_all)]
pub async fn start_passwordless(
    state: &AppState,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    let now = state.now();
    let plan = policy::passwordless_plan();
    let offered = plan.available.clone();
    let mut challenge = new_challenge(state, None, plan, now);
    challenge.login_key = challenge.id.as_uuid().as_bytes().to_vec();
    let options = passkeys::discoverable_options(state, &mut challenge)?;
    state.store.challenges.insert(&challenge).await?;
    let mut p = pending(&challenge, offered, now);
    p.options = Some(serde_json::to_value(options)?);
    Ok(LoginStep::Pending(p))
}

/// WebAuthn request options for a challenge waiting for a passkey (second factor or
/// step-up); the ceremony state is kept with the challenge.
///
/// # Errors
/// Unknown or spent challenge, or no passkey to use.
#[tracing::instrument(skip_all, fields(challenge.id = %id))]
pub async fn passkey_options(
    state: &AppState,
    id: ChallengeId,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<serde_json::Value, ServiceError> {
    let (mut challenge, version) = load(state, id, step_up_of).await?;
    guard(state, &challenge.login_key, client).await?;
    challenge.admit(FactorKind::Passkey, state.now())?;
    let options = passkeys::authentication_options(state, &mut challenge).await?;
    state.store.challenges.update(&challenge, version).await?;
    serde_json::to_value(options).map_err(ServiceError::from)
}
