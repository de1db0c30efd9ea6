//! Step-up: a live session proves a fresh factor and its assurance rises (RFC 9470). What
//! the challenge asks for and what the session's `acr` and `amr` become are core's policy
//! (`step_up_plan`, `elevate`); this file loads and writes the session.

use portcullis_core::login::Challenge;
use portcullis_core::login::policy;
use portcullis_core::token::requirement::acr_satisfies;
use portcullis_store::model::{AccountRecord, SessionRecord};
use serde_json::json;

use super::{LoginStep, new_challenge, pending, usable_second_factors};
use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::{accounts, audit, sessions};
use crate::state::AppState;

fn ended() -> ServiceError {
    ServiceError::Unauthenticated("the session has ended")
}

/// `POST /v1/sessions/current/step-up`: proves a fresh factor for the current session. With
/// `max_age`, a session that authenticated recently enough, and already at `acr` when one is
/// asked for (an RFC 9470 challenge's `acr_values`), gets a new token at once.
///
/// # Errors
/// Storage failure or a session that ended.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn step_up(
    state: &AppState,
    auth: &AuthSession,
    max_age: Option<i64>,
    acr: Option<&str>,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let now = state.now();
    let session = state
        .store
        .sessions
        .get(auth.session)
        .await?
        .filter(|s| s.is_live(now))
        .ok_or_else(ended)?;
    if let Some(max_age) = max_age {
        if max_age < 0 {
            return Err(ServiceError::invalid(
                Invalid::MaxAge,
                "max_age must not be negative",
            ));
        }
        let strong_enough = acr.is_none_or(|want| acr_satisfies(&session.acr, want));
        if policy::is_fresh(session.auth_time, max_age, now) && strong_enough {
            let account = accounts::live_account(state, auth.account).await?;
            return Ok(LoginStep::SteppedUp(sessions::access_only(
                state,
                &account.roles,
                &session,
            )?));
        }
    }
    let second = usable_second_factors(state, auth.account, &auth.claims.roles).await?;
    let plan = policy::step_up_plan(second);
    let mut challenge = new_challenge(state, Some(auth.account), plan, now);
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

/// Raises the assurance of the challenge's session with the methods just `proven`.
pub(super) async fn complete(
    state: &AppState,
    challenge: &Challenge,
    account: &AccountRecord,
    proven: Vec<String>,
    client: &ClientInfo,
) -> Result<LoginStep, ServiceError> {
    let sid = challenge.session.ok_or_else(ended)?;
    let now = state.now();
    let session = state
        .store
        .sessions
        .get(sid)
        .await?
        .filter(|s| s.is_live(now))
        .ok_or_else(ended)?;
    let policy::Elevation { acr, amr } = policy::elevate(&session.acr, &session.amr, proven);
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
