//! Codes by text message: a phone number (sealed with the account's data key) becomes a
//! factor once a code texted to it comes back.

use portcullis_core::contact::PhoneE164;
use portcullis_core::factor::FactorKind;
use portcullis_core::factor::otp::Channel;
use portcullis_core::ids::AccountId;
use portcullis_store::model::FactorRecord;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::ServiceError;
use crate::services::factors::enrolment::{self, NewFactor};
use crate::services::factors::{FactorView, authorise, check_label, secret_aad, view};
use crate::services::{accounts, otp};
use crate::state::AppState;
use portcullis_core::login::management::FactorChange;

/// `POST /v1/me/factors/sms`: registers a phone number and texts it a code; confirming
/// the code verifies the number and makes it a factor.
///
/// # Errors
/// A stale session, an invalid number, the send bound, or a failed delivery.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_sms(
    state: &AppState,
    auth: &AuthSession,
    phone: &str,
    label: Option<String>,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    let phone = PhoneE164::parse(phone)?;
    let label = check_label(label, "Phone")?;
    // What the input says is checked first: no step-up only to hear the input was wrong.
    authorise(state, auth, FactorChange::Enrol).await?;
    let new = NewFactor {
        kind: FactorKind::Sms,
        label,
        secret: Some(phone.as_str().as_bytes()),
    };
    let (record, _) = enrolment::enrol(state, auth.account, new, client, async |f| {
        otp::send(
            state,
            auth.account,
            Channel::Sms,
            &f.id,
            phone.as_str(),
            client,
        )
        .await
    })
    .await?;
    Ok(view(&record))
}

/// The phone number of the confirmed factor `f`.
pub(super) async fn phone_number(
    state: &AppState,
    account: AccountId,
    f: &FactorRecord,
) -> Result<String, ServiceError> {
    let key = accounts::data_key(state, account).await?;
    let blob = f
        .secret_ct
        .as_deref()
        .ok_or_else(|| ServiceError::unexpected("SMS factor without number"))?;
    String::from_utf8(key.decrypt(blob, &secret_aad(&f.id))?)
        .map_err(|_| ServiceError::unexpected("SMS factor number is not UTF-8"))
}
