//! Login: the challenge state machine of core, driven against the store.
//!
//! Known and unknown e-mails take the same path: a challenge is created either way, an
//! unknown account's password is checked against a dummy hash, and every failure gives the
//! same answer. Failures are counted per e-mail blind index for back-off, which slows guessing
//! without letting an attacker lock a user out for good.

use portcullis_core::contact::Email;
use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
use portcullis_core::login::{Assurance, Challenge, ChallengeError, FactorKind, Progress};
use portcullis_core::password::{Password, PasswordHash, Verification};
use portcullis_store::model::{AccountRecord, AccountStatus, SessionRecord};
use portcullis_store::pii;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::config::DurationExt as _;
use crate::error::ApiError;
use crate::extract::{AuthSession, ClientInfo};
use crate::services::sessions::{self, TokenResponse};
use crate::services::{accounts, audit, factors, otp, passkeys, passwords};
use crate::state::AppState;

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
}

impl Answer {
    fn factor(&self) -> FactorKind {
        match self {
            Answer::Password(_) => FactorKind::Password,
            Answer::Totp(_) => FactorKind::Totp,
            Answer::RecoveryCode(_) => FactorKind::RecoveryCode,
            Answer::Sms(_) => FactorKind::Sms,
            Answer::EmailOtp(_) => FactorKind::EmailOtp,
            Answer::Passkey(_) => FactorKind::Passkey,
        }
    }
}

fn required_factors(state: &AppState, account: Option<&AccountRecord>) -> usize {
    let map = &state.config.login.required_factors;
    let global = map.get("*").copied().unwrap_or(1);
    account
        .map(|a| {
            a.roles
                .iter()
                .filter_map(|r| map.get(r))
                .copied()
                .max()
                .unwrap_or(global)
                .max(global)
        })
        .unwrap_or(global)
}

/// The second factors `roles` may use (`login.mfa_factors`): every role with an entry (and
/// `*`) narrows the set; with no entry every enrolled factor counts.
fn allowed_for(state: &AppState, roles: &[String], enrolled: Vec<FactorKind>) -> Vec<FactorKind> {
    let policy = &state.config.login.mfa_factors;
    let rules: Vec<&Vec<FactorKind>> = roles
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("*"))
        .filter_map(|r| policy.get(r))
        .collect();
    enrolled
        .into_iter()
        .filter(|f| rules.iter().all(|allowed| allowed.contains(f)))
        .collect()
}

fn check_backoff(state: &AppState, failures: i64, last: i64) -> Result<(), ApiError> {
    let cfg = &state.config.login;
    if failures < cfg.free_failures {
        return Ok(());
    }
    let exp = u32::try_from(failures - cfg.free_failures)
        .unwrap_or(u32::MAX)
        .min(30);
    let wait = cfg
        .backoff_base
        .as_secs_i64()
        .saturating_mul(1i64 << exp)
        .min(cfg.backoff_max.as_secs_i64());
    let until = last + wait;
    let now = state.now();
    if now < until {
        metrics::counter!("portcullis_rate_limited_total", "scope" => "backoff").increment(1);
        return Err(ApiError::RateLimited {
            retry_after: u64::try_from(until - now).unwrap_or(1),
        });
    }
    Ok(())
}

/// Rate limits and back-off; returns whether failures are on record (to clear on success).
async fn guard(state: &AppState, key: &[u8], client: &ClientInfo) -> Result<bool, ApiError> {
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

/// `POST /v1/sessions`: starts a login, answering the password at once when given.
///
/// # Errors
/// Invalid credentials, rate limits, or an account that may not log in.
pub async fn start(
    state: &AppState,
    email: &str,
    password: Option<Password>,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    let email = Email::parse(email)?;
    let key = pii::email_index(&state.keyring(), email.as_str());
    let had_failures = guard(state, &key, client).await?;
    let account = state.store.accounts.find_by_email_index(&key).await?;
    // An unknown account is looked up like a known one, so timing tells nothing.
    let lookup = account
        .as_ref()
        .map_or(AccountId::from_uuid(uuid::Uuid::nil()), |a| a.id);
    let roles = account
        .as_ref()
        .map(|a| a.roles.clone())
        .unwrap_or_default();
    let second = allowed_for(state, &roles, factors::second_factors(state, lookup).await?);
    let mut required = required_factors(state, account.as_ref());
    if !second.is_empty() {
        // Whoever enrolled a second factor always needs it.
        required = required.max(2);
    }
    let mut available = vec![FactorKind::Password];
    available.extend(second);
    let now = state.now();
    let id = ChallengeId::new(state.clock.now_millis(), state.random::<10>());
    let mut challenge = Challenge::start(
        id,
        account.as_ref().map(|a| a.id),
        available,
        required,
        state.config.login.challenge,
        now,
    );
    challenge.login_key = key;
    match password {
        None => {
            state.store.challenges.insert(&challenge).await?;
            Ok(LoginStep::Pending(pending(
                &challenge,
                challenge.remaining(),
                now,
            )))
        }
        Some(password) => {
            let step = answer_factor(
                state,
                &mut challenge,
                account,
                Answer::Password(password),
                had_failures,
                client,
            )
            .await;
            if let Ok(LoginStep::Pending(_)) = &step {
                state.store.challenges.insert(&challenge).await?;
            }
            step
        }
    }
}

/// `POST /v1/sessions/challenges/{id}`: answers one factor of a pending login.
///
/// # Errors
/// Unknown or spent challenge, invalid answer, rate limits.
pub async fn answer(
    state: &AppState,
    id: ChallengeId,
    answer: Answer,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    let Some((mut challenge, version)) = state.store.challenges.get(id).await? else {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    };
    // A step-up challenge is answered only by its own session, a login challenge only
    // without one.
    if challenge.session != step_up_of {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    }
    let had_failures = guard(state, &challenge.login_key.clone(), client).await?;
    challenge.admit(answer.factor(), state.now())?;
    let account = match challenge.account {
        Some(id) => state.store.accounts.get(id).await?,
        None => None,
    };
    let step = answer_factor(state, &mut challenge, account, answer, had_failures, client).await;
    match &step {
        Ok(LoginStep::Complete(_) | LoginStep::SteppedUp(_)) => {
            state.store.challenges.delete(id).await?
        }
        _ => state.store.challenges.update(&challenge, version).await?,
    }
    step
}

/// Sends the code of an SMS or e-mail factor that `challenge` waits for.
///
/// # Errors
/// Unknown or spent challenge, a factor it does not wait for, the send bound.
pub async fn send_code(
    state: &AppState,
    id: ChallengeId,
    factor: FactorKind,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<i64, ApiError> {
    let Some((challenge, _)) = state.store.challenges.get(id).await? else {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    };
    if challenge.session != step_up_of {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    }
    if !matches!(factor, FactorKind::Sms | FactorKind::EmailOtp) {
        return Err(ApiError::bad_request(
            "not-a-sent-code",
            "only sms and email_otp codes are sent",
        ));
    }
    guard(state, &challenge.login_key, client).await?;
    challenge.admit(factor, state.now())?;
    let account = challenge
        .account
        .ok_or(ApiError::Challenge(ChallengeError::FactorNotOffered))?;
    factors::send_challenge_code(state, account, factor, &challenge.id.to_string(), client).await
}

/// `POST /v1/sessions` with `passkey: true`: a passwordless login with a discoverable
/// credential. The answer carries the WebAuthn request options.
///
/// # Errors
/// Rate limits, storage failure.
pub async fn start_passwordless(
    state: &AppState,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    if let Some(ip) = client.ip {
        state.limits.check_auth(ip).await?;
    }
    let now = state.now();
    let mut challenge = Challenge::start(
        ChallengeId::new(state.clock.now_millis(), state.random::<10>()),
        None,
        vec![FactorKind::Passkey],
        1,
        state.config.login.challenge,
        now,
    );
    challenge.login_key = challenge.id.as_uuid().as_bytes().to_vec();
    let options = passkeys::discoverable_options(state, &mut challenge)?;
    state.store.challenges.insert(&challenge).await?;
    let mut p = pending(&challenge, vec![FactorKind::Passkey], now);
    p.options = Some(serde_json::to_value(options).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(LoginStep::Pending(p))
}

/// WebAuthn request options for a challenge waiting for a passkey (second factor or
/// step-up); the ceremony state is kept with the challenge.
///
/// # Errors
/// Unknown or spent challenge, or no passkey to use.
pub async fn passkey_options(
    state: &AppState,
    id: ChallengeId,
    step_up_of: Option<SessionId>,
    client: &ClientInfo,
) -> Result<serde_json::Value, ApiError> {
    let Some((mut challenge, version)) = state.store.challenges.get(id).await? else {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    };
    if challenge.session != step_up_of {
        return Err(ApiError::Challenge(ChallengeError::Expired));
    }
    guard(state, &challenge.login_key, client).await?;
    challenge.admit(FactorKind::Passkey, state.now())?;
    let options = passkeys::authentication_options(state, &mut challenge).await?;
    state.store.challenges.update(&challenge, version).await?;
    serde_json::to_value(options).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `POST /v1/sessions/current/step-up`: proves a fresh factor for the current session. With
/// `max_age`, a session that authenticated recently enough gets a new token at once.
///
/// # Errors
/// Storage failure or a session that ended.
pub async fn step_up(
    state: &AppState,
    auth: &AuthSession,
    max_age: Option<i64>,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    let now = state.now();
    let session = state
        .store
        .sessions
        .get(auth.session)
        .await?
        .filter(|s| s.is_live(now))
        .ok_or(ApiError::Unauthenticated("the session has ended"))?;
    if let Some(max_age) = max_age {
        if max_age < 0 {
            return Err(ApiError::bad_request(
                "invalid-max-age",
                "max_age must not be negative",
            ));
        }
        if session.auth_time + max_age >= now {
            let account = accounts::live_account(state, auth.account).await?;
            return Ok(LoginStep::SteppedUp(sessions::access_only(
                state,
                &account.roles,
                &session,
            )?));
        }
    }
    let second = allowed_for(
        state,
        &auth.claims.roles,
        factors::second_factors(state, auth.account).await?,
    );
    let available = if second.is_empty() {
        vec![FactorKind::Password]
    } else {
        second
    };
    let id = ChallengeId::new(state.clock.now_millis(), state.random::<10>());
    let mut challenge = Challenge::start(
        id,
        Some(auth.account),
        available,
        1,
        state.config.login.challenge,
        now,
    );
    challenge.session = Some(auth.session);
    challenge.login_key = auth.account.as_uuid().as_bytes().to_vec();
    state.store.challenges.insert(&challenge).await?;
    audit::record(
        state,
        "session.step_up_started",
        Some(auth.account.to_string()),
        Some(auth.session.to_string()),
        Some(client),
        json!({}),
    )
    .await?;
    Ok(LoginStep::Pending(pending(
        &challenge,
        challenge.remaining(),
        now,
    )))
}

fn pending(challenge: &Challenge, factors: Vec<FactorKind>, now: i64) -> PendingLogin {
    PendingLogin {
        challenge_id: challenge.id.to_string(),
        factors,
        expires_in: challenge.expires_in(now),
        options: None,
    }
}

async fn verify_answer(
    state: &AppState,
    account: Option<&AccountRecord>,
    answer: Answer,
    challenge: &str,
    client: &ClientInfo,
) -> Result<bool, ApiError> {
    match answer {
        // Assertions need the challenge's ceremony state; `answer_factor` checks them.
        Answer::Passkey(_) => Ok(false),
        Answer::Sms(code) => match account {
            Some(a) => otp::check(state, a.id, otp::SMS, challenge, &code).await,
            None => Ok(false),
        },
        Answer::EmailOtp(code) => match account {
            Some(a) => otp::check(state, a.id, otp::EMAIL, challenge, &code).await,
            None => Ok(false),
        },
        Answer::Totp(code) => match account {
            Some(a) => factors::check_totp(state, a.id, &code).await,
            None => Ok(false),
        },
        Answer::RecoveryCode(code) => match account {
            Some(a) => factors::use_recovery_code(state, a.id, &code, client).await,
            None => Ok(false),
        },
        Answer::Password(password) => {
            let stored = account.map(|a| PasswordHash::from_phc(a.password_hash.clone()));
            let verdict = passwords::verify(state, password.clone(), stored).await?;
            match (verdict, account) {
                (Some(Verification::Match { needs_rehash }), Some(a)) => {
                    if needs_rehash {
                        let fresh = passwords::hash(state, password).await?;
                        state
                            .store
                            .accounts
                            .set_password_hash(a.id, fresh.as_phc(), state.now())
                            .await?;
                        tracing::info!(account = %a.id, "password re-hashed with current parameters");
                    }
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
    }
}

async fn answer_factor(
    state: &AppState,
    challenge: &mut Challenge,
    account: Option<AccountRecord>,
    answer: Answer,
    had_failures: bool,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    let factor = answer.factor();
    challenge.admit(factor, state.now())?;
    let mut account = account;
    let verified = match answer {
        Answer::Passkey(credential) => {
            let verified = passkeys::verify_assertion(state, challenge, &credential).await?;
            // A passwordless assertion names its account only once its signature verified.
            if account.is_none()
                && let Some(id) = challenge.account
            {
                account = state.store.accounts.get(id).await?;
            }
            verified
        }
        other => {
            let usable = account
                .as_ref()
                .filter(|a| a.status != AccountStatus::Deleted);
            verify_answer(state, usable, other, &challenge.id.to_string(), client).await?
        }
    };
    let usable = account
        .as_ref()
        .filter(|a| a.status != AccountStatus::Deleted);
    let now = state.now();
    let actor = usable.map(|a| a.id.to_string());
    match challenge.record(factor, verified, now) {
        Err(e) => {
            state
                .store
                .throttle
                .record_failure(&challenge.login_key, now)
                .await?;
            metrics::counter!("portcullis_logins_total", "outcome" => "failed").increment(1);
            audit::record(
                state,
                "login.failed",
                actor,
                Some(challenge.id.to_string()),
                Some(client),
                json!({"factor": factor, "reason": "invalid_credentials"}),
            )
            .await?;
            Err(e.into())
        }
        Ok(progress) => {
            // Only now, with the password proven, may the account's state be told.
            let Some(account) = usable else {
                return Err(ApiError::InvalidCredentials);
            };
            match account.status {
                AccountStatus::Pending => {
                    return Err(ApiError::Forbidden(
                        "verify your e-mail address before logging in",
                    ));
                }
                AccountStatus::Disabled => {
                    return Err(ApiError::Forbidden("this account is disabled"));
                }
                AccountStatus::Active | AccountStatus::Deleted => {}
            }
            if had_failures {
                state.store.throttle.clear(&challenge.login_key).await?;
            }
            if factor != FactorKind::Password {
                audit::record(
                    state,
                    "factor.used",
                    actor.clone(),
                    Some(challenge.id.to_string()),
                    Some(client),
                    json!({"factor": factor}),
                )
                .await?;
            }
            match progress {
                Progress::NeedMore(remaining) if remaining.is_empty() => Err(ApiError::Forbidden(
                    "your role requires a second factor and none that it accepts is enrolled: ask an administrator",
                )),
                Progress::NeedMore(remaining) => {
                    Ok(LoginStep::Pending(pending(challenge, remaining, now)))
                }
                Progress::Complete { amr, .. } if challenge.session.is_some() => {
                    complete_step_up(state, challenge, account, amr, client).await
                }
                Progress::Complete { assurance, amr } => {
                    let tokens =
                        sessions::issue(state, account, assurance, amr.clone(), client).await?;
                    metrics::counter!("portcullis_logins_total", "outcome" => "succeeded")
                        .increment(1);
                    audit::record(
                        state,
                        "login.succeeded",
                        actor,
                        Some(tokens.session_id.clone()),
                        Some(client),
                        json!({"acr": assurance.acr(), "amr": amr}),
                    )
                    .await?;
                    Ok(LoginStep::Complete(tokens))
                }
            }
        }
    }
}

/// Raises the assurance of the challenge's session with the factor just proven.
async fn complete_step_up(
    state: &AppState,
    challenge: &Challenge,
    account: &AccountRecord,
    proven: Vec<String>,
    client: &ClientInfo,
) -> Result<LoginStep, ApiError> {
    let ended = || ApiError::Unauthenticated("the session has ended");
    let sid = challenge.session.ok_or_else(ended)?;
    let now = state.now();
    let session = state
        .store
        .sessions
        .get(sid)
        .await?
        .filter(|s| s.is_live(now))
        .ok_or_else(ended)?;
    let mut amr = session.amr.clone();
    for method in proven {
        if !amr.contains(&method) {
            amr.push(method);
        }
    }
    let acr = Assurance::for_methods(amr.iter().map(String::as_str))
        .max(Assurance::from_acr(&session.acr).unwrap_or(Assurance::Aal1));
    if !state
        .store
        .sessions
        .elevate(sid, acr.acr(), &amr, now)
        .await?
    {
        return Err(ended());
    }
    let elevated = SessionRecord {
        acr: acr.acr().to_owned(),
        amr: amr.clone(),
        auth_time: now,
        last_seen_at: now,
        ..session
    };
    let tokens = sessions::access_only(state, &account.roles, &elevated)?;
    metrics::counter!("portcullis_step_ups_total").increment(1);
    audit::record(
        state,
        "session.stepped_up",
        Some(account.id.to_string()),
        Some(sid.to_string()),
        Some(client),
        json!({"acr": acr.acr(), "amr": amr}),
    )
    .await?;
    Ok(LoginStep::SteppedUp(tokens))
}
