//! EIP-191 (`personal_sign`) signatures by a custodial wallet, for dApp log-ins (Sign-In with
//! Ethereum and the like). The password opens the key; the signature is audited by the
//! message's hash, never the message.

use portcullis_core::password::Password;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use super::seal;
use super::wallets::owned;
use crate::auth::AuthSession;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// Longest message, in bytes (a SIWE message is well under 1 KiB).
const MAX_MESSAGE: usize = 4096;

/// A signature.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SignatureView {
    /// The signer's address.
    pub address: String,
    /// The message signed (UTF-8, as given).
    pub message: String,
    /// `0x` ‖ r ‖ s ‖ v (65 bytes, v 27/28).
    pub signature: String,
}

/// Signs `message` (UTF-8 text) with the wallet's key per EIP-191.
///
/// # Errors
/// Not found; an empty or too long message; a wrong password.
#[tracing::instrument(skip_all, fields(account.id = %auth.account, wallet.id = wallet_id))]
pub async fn sign_message(
    state: &AppState,
    auth: &AuthSession,
    wallet_id: &str,
    message: String,
    password: Password,
    client: &ClientInfo,
) -> Result<SignatureView, ServiceError> {
    if message.is_empty() || message.len() > MAX_MESSAGE {
        return Err(ServiceError::invalid(
            Invalid::Message,
            "the message must have 1 to 4096 bytes",
        ));
    }
    let wallet = owned(state, auth.account, wallet_id).await?;
    let key = seal::open(state, &wallet, password).await?;
    let signature = key
        .sign_message(message.as_bytes())
        .map_err(|e| ServiceError::unexpected_from("signing a message", e))?;
    drop(key);
    audit::record(
        state,
        "custody.message_signed",
        Some(auth.account.to_string()),
        Some(wallet.id.clone()),
        Some(client),
        json!({ "message_sha256": hex::encode(Sha256::digest(message.as_bytes())) }),
    )
    .await?;
    Ok(SignatureView {
        address: wallet.address,
        message,
        signature: format!("0x{}", hex::encode(signature)),
    })
}
