//! `[chain]`: the Ethereum JSON-RPC node custodial wallets (and the EVM ledgers) use, and
//! `[custody]`: the rules of custodial wallets' sends.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use super::secret::SecretUrl;
use portcullis_core::custody::{SpendLimits, parse_wei};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The chain node. Without `rpc_url`, custodial wallets are off (their endpoints answer 503).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// The node's JSON-RPC endpoint (`http://` or `https://`; it may carry a provider's key,
    /// so it is shown redacted).
    pub rpc_url: Option<SecretUrl>,
    /// The EIP-155 chain id the node serves and transactions are signed for. Required with
    /// `rpc_url`: a transaction signed for the wrong chain is money on the wrong chain.
    pub chain_id: Option<u64>,
}

impl ChainConfig {
    /// The node's URL and chain id, when a chain is configured.
    ///
    /// # Errors
    /// A URL that does not parse (validation refuses it first).
    pub fn endpoint(&self) -> Option<(url::Url, u64)> {
        let url = url::Url::parse(self.rpc_url.as_ref()?.expose_secret()).ok()?;
        Some((url, self.chain_id?))
    }

    /// Both keys or neither; an http(s) URL.
    ///
    /// # Errors
    /// The key at fault.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match (&self.rpc_url, self.chain_id) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(InvalidValue::new(
                "chain.chain_id",
                "is required with chain.rpc_url",
            )),
            (None, Some(_)) => Err(InvalidValue::new(
                "chain.rpc_url",
                "is required with chain.chain_id",
            )),
            (Some(url), Some(id)) => {
                positive("chain.chain_id", id == 0)?;
                match url::Url::parse(url.expose_secret()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
                    _ => Err(InvalidValue::new(
                        "chain.rpc_url",
                        "must be an http:// or https:// URL",
                    )),
                }
            }
        }
    }
}

/// Custodial wallets: spending limits (decimal wei), the step-up a send needs, and how the
/// chain is read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustodyConfig {
    /// Largest value of one send (wei, decimal). Default 1 ETH.
    pub per_transaction_wei: String,
    /// Largest total one wallet sends in 24 hours (wei). Default 5 ETH.
    pub per_wallet_daily_wei: String,
    /// Largest total an account sends from all its wallets in 24 hours (wei). Default 10 ETH.
    pub per_account_daily_wei: String,
    /// How recent the TOTP or passkey authentication authorising a send must be.
    #[serde(rename = "send_max_age_secs", with = "secs")]
    pub send_max_age: Duration,
    /// Most wallets an account may have.
    pub max_wallets: u32,
    /// How many blocks back the history reads.
    pub history_blocks: u64,
    /// How often the follower asks the node about pending sends.
    #[serde(rename = "follow_interval_ms", with = "super::duration::millis")]
    pub follow_interval: Duration,
}

const ETH: &str = "000000000000000000";

impl Default for CustodyConfig {
    fn default() -> Self {
        Self {
            per_transaction_wei: format!("1{ETH}"),
            per_wallet_daily_wei: format!("5{ETH}"),
            per_account_daily_wei: format!("10{ETH}"),
            send_max_age: Duration::from_secs(300),
            max_wallets: 10,
            history_blocks: 10_000,
            follow_interval: Duration::from_millis(1_000),
        }
    }
}

impl CustodyConfig {
    /// The limits as numbers.
    ///
    /// # Errors
    /// A limit that is not decimal wei (validation refuses it first).
    pub fn limits(&self) -> Result<SpendLimits, InvalidValue> {
        let wei = |key: &str, v: &str| {
            parse_wei(v)
                .ok_or_else(|| InvalidValue::new(key, "must be an amount of wei in decimal"))
        };
        Ok(SpendLimits {
            per_transaction: wei("custody.per_transaction_wei", &self.per_transaction_wei)?,
            per_wallet_daily: wei("custody.per_wallet_daily_wei", &self.per_wallet_daily_wei)?,
            per_account_daily: wei("custody.per_account_daily_wei", &self.per_account_daily_wei)?,
        })
    }

    /// Amounts parse; counts and times are positive.
    ///
    /// # Errors
    /// The key at fault.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.limits()?;
        positive("custody.send_max_age_secs", self.send_max_age.is_zero())?;
        positive("custody.max_wallets", self.max_wallets == 0)?;
        positive("custody.history_blocks", self.history_blocks == 0)?;
        positive("custody.follow_interval_ms", self.follow_interval.is_zero())
    }
}
