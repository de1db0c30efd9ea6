//! One answer to a challenge: the factor's own check (against the store), then the
//! challenge's verdict, and what follows from it: a failure counted for back-off and
//! audited, more factors asked for, a session issued, or a step-up completed.

use portcullis_core::login::{Challenge, FactorKind, Progress};
use portcullis_core::password::{Password, PasswordHash, Verification};
use portcullis_store::model::{AccountRecord, AccountStatus};
use serde_json::json;

use super::{Answer, LoginStep, enrolment, pending, step_up, wallet};
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::{audit, factors, otp, passkeys, passwords, sessions};
use crate::state::AppState;

/// Verifies `answer` for `challenge` and records the verdict.
pub(super) async fn answer_factor(
    state: &AppState,
    challenge: &mut Challenge,
    account: Option<AccountRecord>,
    answer: Answer,
    had_failures: bool,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let factor = answer.factor();
    challenge.admit(factor, state.now())?;
    let (verified, account) = verify(state, challenge, account, answer, client).await?;
    let usable = account
        .as_ref()
        .filter(|a| a.status != AccountStatus::Deleted);
    let now = state.now();
    let actor = usable.map(|a| a.id.to_string());
    let progress = match challenge.record(factor, verified, now) {
        Ok(progress) => progress,
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
            return Err(e.into());
        }
    };
    // Only now, with the password proven, may the account's state be told.
    let account = may_log_in(usable)?;
    // Failures are forgiven only once the whole login succeeds: a right password followed by
    // wrong second factors (an image, a gesture, a code) keeps counting towards the back-off.
    if had_failures && matches!(progress, Progress::Complete { .. }) {
        state.store.throttle.clear(&challenge.login_key).await?;
    }
    if factor != FactorKind::Password {
        audit::record(
            state,
            "factor.used",
            actor,
            Some(challenge.id.to_string()),
            Some(client),
            json!({"factor": factor}),
        )
        .await?;
    }
    proceed(state, challenge, account, progress, client, now).await
}

/// The account a proven answer logs into, or why it may not.
fn may_log_in(usable: Option<&AccountRecord>) -> Result<&AccountRecord, ServiceError> {
    let Some(account) = usable else {
        return Err(ServiceError::InvalidCredentials);
    };
    match account.status {
        AccountStatus::Pending => Err(ServiceError::Forbidden(
            "verify your e-mail address before logging in",
        )),
        AccountStatus::Disabled => Err(ServiceError::Forbidden("this account is disabled")),
        AccountStatus::Active | AccountStatus::Deleted => Ok(account),
    }
}

/// After an accepted answer: more factors, an enrolment when the account lacks any second
/// factor its role demands, a new session, or a raised one.
pub(super) async fn proceed(
    state: &AppState,
    challenge: &mut Challenge,
    account: &AccountRecord,
    progress: Progress,
    client: &ClientInfo,
    now: i64,
) -> Result<LoginStep, ServiceError> {
    match progress {
        Progress::NeedMore(remaining) if remaining.is_empty() => {
            enrolment::require(state, challenge, account, client, now).await
        }
        Progress::NeedMore(remaining) => Ok(LoginStep::Pending(pending(challenge, remaining, now))),
        Progress::Complete { amr, .. } if challenge.session.is_some() => {
            step_up::complete(state, challenge, account, amr, client).await
        }
        Progress::Complete { assurance, amr } => {
            let tokens = if wallet::proven(challenge) {
                wallet::complete(state, challenge, account, assurance, amr.clone(), client).await?
            } else {
                sessions::issue(state, account, assurance, amr.clone(), client).await?
            };
            metrics::counter!("portcullis_logins_total", "outcome" => "succeeded").increment(1);
            audit::record(
                state,
                "login.succeeded",
                Some(account.id.to_string()),
                Some(tokens.session_id.clone()),
                Some(client),
                json!({"acr": assurance.acr(), "amr": amr}),
            )
            .await?;
            Ok(LoginStep::Complete(tokens))
        }
    }
}

/// Runs the factor's check; returns the verdict and the account, which a passwordless
/// assertion names only once its signature verified.
async fn verify(
    state: &AppState,
    challenge: &mut Challenge,
    account: Option<AccountRecord>,
    answer: Answer,
    client: &ClientInfo,
) -> Result<(bool, Option<AccountRecord>), ServiceError> {
    if let Answer::Passkey(credential) = answer {
        // Assertions need the challenge's ceremony state.
        let verified = passkeys::verify_assertion(state, challenge, &credential).await?;
        return match (account, challenge.account) {
            (None, Some(id)) => Ok((verified, state.store.accounts.get(id).await?)),
            (account, _) => Ok((verified, account)),
        };
    }
    if let Answer::Wallet(answer) = &answer {
        // Its ceremony is kept with the challenge.
        return Ok((
            wallet::verify_answer(state, challenge, answer).await?,
            account,
        ));
    }
    let usable = account
        .as_ref()
        .filter(|a| a.status != AccountStatus::Deleted);
    let target = challenge.id.to_string();
    let verified = check(state, usable, answer, &target, client).await?;
    Ok((verified, account))
}

/// The check of every factor but a passkey. Without an account only the password is
/// checked (against a dummy hash, so timing tells nothing); the rest fail.
async fn check(
    state: &AppState,
    account: Option<&AccountRecord>,
    answer: Answer,
    challenge: &str,
    client: &ClientInfo,
) -> Result<bool, ServiceError> {
    let channel = answer.factor().channel();
    if let Answer::Password(password) = answer {
        return check_password(state, account, password).await;
    }
    let Some(a) = account else {
        return Ok(false);
    };
    match answer {
        Answer::Sms(code) | Answer::EmailOtp(code) => match channel {
            Some(channel) => otp::check(state, a.id, channel, challenge, &code).await,
            None => Ok(false),
        },
        Answer::Totp(code) => factors::check_totp(state, a.id, &code).await,
        Answer::RecoveryCode(code) => factors::use_recovery_code(state, a.id, &code, client).await,
        Answer::PatternOtp(dots) => factors::check_pattern(state, a.id, challenge, &dots).await,
        Answer::Image(bytes) => factors::check_image(state, a.id, bytes).await,
        Answer::Gesture(gesture) => factors::check_gesture(state, a.id, &gesture).await,
        Answer::Password(_) | Answer::Passkey(_) | Answer::Wallet(_) => Ok(false),
    }
}

/// Checks a password, re-hashing it when its parameters are out of date.
async fn check_password(
    state: &AppState,
    account: Option<&AccountRecord>,
    password: Password,
) -> Result<bool, ServiceError> {
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
