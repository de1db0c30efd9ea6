//! Image passcodes: enrolment by upload (checked by core's `factor::image` rules, then only
//! an argon2id hash of the SHA-256 of the exact bytes is kept) and the check at a login or
//! step-up, where the same file is uploaded again. The bytes are never stored, logged or
//! returned; they live in memory for the request only.

use portcullis_core::factor::FactorKind;
use portcullis_core::factor::image::{self, ImageError};
use portcullis_core::ids::AccountId;
use zeroize::Zeroizing;

use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::error::{Invalid, ServiceError};
use crate::services::factors::{FactorView, check_label, passcode};
use crate::state::AppState;

const KIND: FactorKind = FactorKind::Image;

/// `POST /v1/me/factors/image`: enrols the uploaded image as a passcode, confirmed at once.
///
/// # Errors
/// An image the rules refuse ([`Invalid::ImageTooLarge`], [`Invalid::ImageType`],
/// [`Invalid::Image`]), a bad label, a session that must step up first, storage failure.
#[tracing::instrument(skip_all, fields(account.id = %auth.account))]
pub async fn enrol_image(
    state: &AppState,
    auth: &AuthSession,
    label: Option<String>,
    bytes: Vec<u8>,
    client: &ClientInfo,
) -> Result<FactorView, ServiceError> {
    let label = check_label(label, "Image passcode")?;
    let bytes = Zeroizing::new(bytes);
    // Decoding is CPU work: off the async workers, like the hash.
    let (bytes, checked) = tokio::task::spawn_blocking(move || {
        let checked = image::check(&bytes);
        (bytes, checked)
    })
    .await
    .map_err(|e| ServiceError::unexpected_from("image check", e))?;
    checked.map_err(refusal)?;
    passcode::enrol(state, auth, KIND, label, secret(bytes), client).await
}

/// Checks an uploaded image against the account's image passcodes. Only the digest is
/// compared: a file that is no image cannot match one.
///
/// # Errors
/// Storage, keyring or hashing failure.
#[tracing::instrument(skip_all, fields(account.id = %account))]
pub async fn check_image(
    state: &AppState,
    account: AccountId,
    bytes: Vec<u8>,
) -> Result<bool, ServiceError> {
    if bytes.len() > image::MAX_BYTES {
        return Ok(false);
    }
    passcode::check(state, account, KIND, secret(Zeroizing::new(bytes))).await
}

fn secret(bytes: Zeroizing<Vec<u8>>) -> passcode::Secret {
    Box::new(move || Zeroizing::new(image::digest(&bytes).to_vec()))
}

/// The service's refusal for an image the rules refuse; the reason is the core's sentence.
pub(crate) fn refusal(e: ImageError) -> ServiceError {
    let what = match e {
        ImageError::TooLarge => Invalid::ImageTooLarge,
        ImageError::UnsupportedFormat => Invalid::ImageType,
        ImageError::TooFewBytes | ImageError::TooFewPixels(..) | ImageError::Undecodable(_) => {
            Invalid::Image
        }
    };
    ServiceError::invalid(what, e.to_string())
}
