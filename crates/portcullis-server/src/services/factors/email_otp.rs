//! Codes by e-mail to the account's own address; confirmed like a phone number, by a first
//! code that comes back.

use portcullis_core::factor::FactorKind;
use portcullis_core::factor::otp::Channel;
use portcullis_core::ids::AccountId;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self, NewFactor};
use crate::services::factors::{FactorView, authorise, check_label, view};
use crate::services::{accounts, otp};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

/// `POST /v1/me/factors/email`: codes by e-mail to the account's address.
///
/// # Errors
/// A stale session, the send bound.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_email(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    let label = check_label(label, "E-mail")?;
    // What the input says is checked first: no step-up only to hear the input was wrong.
    authorise(state, auth, FactorChange::Enrol).await?;
    let email = address(state, auth.account).await?;
    let new = NewFactor {
        kind: FactorKind::EmailOtp,
        label,
        secret: None,
    };
    let (record, _) = enrolment::enrol(state, auth.account, new, client, async |f| {
        otp::send(state, auth.account, Channel::Email, &f.id, &email, client).await
    })
    .await?;
    Ok(view(&record))
}

/// The account's e-mail address, where its codes go.
pub(super) async fn address(state: &AppState, account: AccountId) -> Result<String, ServiceError> {
    let record = accounts::live_account(state, account).await?;
    Ok(accounts::profile(state, &record).await?.email)
}
