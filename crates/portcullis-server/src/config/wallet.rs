//! `[wallet]`: hardware-wallet (Ethereum) sign-in: which chain the Sign-In with Ethereum
//! messages name, how long a signed message stays good, and how often a wallet session's
//! presence is asked. The messages' domain and URI are the public URL's, so a wallet shows
//! the user the site it really signs in to.

use super::duration::secs;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Wallet sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalletConfig {
    /// The EIP-155 chain id wallets sign for (1, Ethereum mainnet, by default: the login
    /// touches no chain; the id only has to be the one the wallet shows).
    pub chain_id: u64,
    /// The sentence wallets show above the message's fields.
    pub statement: String,
    /// How long a Sign-In with Ethereum message the server issued may be signed and
    /// answered.
    #[serde(rename = "message_ttl_secs", with = "secs")]
    pub message_ttl: Duration,
    /// How far a wallet's clock may run ahead of the server's.
    #[serde(rename = "clock_skew_secs", with = "secs")]
    pub clock_skew: Duration,
    /// How often the presence channel asks a wallet session's wallet to sign a challenge.
    #[serde(rename = "presence_interval_secs", with = "secs")]
    pub presence_interval: Duration,
    /// Unanswered presence challenges in a row that end the session.
    pub presence_misses: u32,
}

impl Default for WalletConfig {
    fn default() -> Self {
        Self {
            chain_id: 1,
            statement: "Sign in to Portcullis with this wallet.".into(),
            message_ttl: Duration::from_secs(300),
            clock_skew: Duration::from_secs(60),
            presence_interval: Duration::from_secs(15),
            presence_misses: 2,
        }
    }
}

impl WalletConfig {
    /// Checks what serde cannot.
    ///
    /// # Errors
    /// A statement with a line break (it would end the message's statement line), a zero
    /// message lifetime.
    pub fn validate(&self) -> Result<(), super::InvalidValue> {
        if self.statement.contains(['\n', '\r']) {
            return Err(super::InvalidValue::new(
                "wallet.statement",
                "must be one line",
            ));
        }
        if self.message_ttl.is_zero() {
            return Err(super::InvalidValue::new(
                "wallet.message_ttl_secs",
                "must be at least 1",
            ));
        }
        if self.presence_interval.is_zero() {
            return Err(super::InvalidValue::new(
                "wallet.presence_interval_secs",
                "must be at least 1",
            ));
        }
        if self.presence_misses == 0 {
            return Err(super::InvalidValue::new(
                "wallet.presence_misses",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
