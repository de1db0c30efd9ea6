//! Custodial wallets and the sends made from them.

use crate::keyring::WrappedKey;
use portcullis_core::ids::AccountId;
use std::fmt;
use std::str::FromStr;

/// A wallet whose secp256k1 key the server generated and keeps for an account.
#[derive(Clone, PartialEq, Eq)]
pub struct CustodialWalletRecord {
    /// Id (a UUIDv7).
    pub id: String,
    /// Owner.
    pub account: AccountId,
    /// The Ethereum address (EIP-55 checksummed).
    pub address: String,
    /// The owner's name for it.
    pub label: String,
    /// The private key, sealed under the data key bound with the password-derived key.
    pub sealed_key: Vec<u8>,
    /// The wallet's data key, wrapped by the keyring (associated data: the wallet id).
    pub wrapped_key: WrappedKey,
    /// argon2id salt of the password-derived key.
    pub kdf_salt: Vec<u8>,
    /// argon2id cost of the password-derived key, as JSON (`Argon2Params`).
    pub kdf_params: String,
    /// The nonce the next transaction takes, as far as this server knows.
    pub next_nonce: i64,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for CustodialWalletRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustodialWalletRecord")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("address", &self.address)
            .field("next_nonce", &self.next_nonce)
            .finish_non_exhaustive()
    }
}

/// Where a send stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// The node accepted it; not mined yet.
    Pending,
    /// Its broadcast's outcome is unknown (the node stopped answering); it is sent again,
    /// unchanged, until the node knows it.
    Unconfirmed,
    /// Mined and succeeded.
    Mined,
    /// Mined and reverted (the fee is spent, the value did not move).
    Reverted,
    /// Refused before it took a nonce (by a rule or by the node): nothing was sent.
    Refused,
}

impl SendStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Pending => "pending",
            SendStatus::Unconfirmed => "unconfirmed",
            SendStatus::Mined => "mined",
            SendStatus::Reverted => "reverted",
            SendStatus::Refused => "refused",
        }
    }

    /// Whether the follower still has to watch it.
    pub fn is_open(self) -> bool {
        matches!(self, SendStatus::Pending | SendStatus::Unconfirmed)
    }
}

impl FromStr for SendStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => SendStatus::Pending,
            "unconfirmed" => SendStatus::Unconfirmed,
            "mined" => SendStatus::Mined,
            "reverted" => SendStatus::Reverted,
            "refused" => SendStatus::Refused,
            other => return Err(format!("unknown send status {other:?}")),
        })
    }
}

/// A send a user asked for, whatever became of it. Amounts are decimal strings of wei
/// (they do not fit 64 bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRecord {
    /// Id (a UUIDv7).
    pub id: String,
    /// The wallet it is from.
    pub wallet_id: String,
    /// The wallet's owner.
    pub account: AccountId,
    /// The nonce it took; `None` when refused before taking one.
    pub nonce: Option<i64>,
    /// Recipient (EIP-55).
    pub to: String,
    /// Wei.
    pub value_wei: String,
    /// Call data.
    pub data: Vec<u8>,
    /// Transaction hash (0x-hex), once signed.
    pub tx_hash: Option<String>,
    /// The signed transaction (public once broadcast; kept to send it again).
    pub raw: Option<Vec<u8>>,
    /// Gas limit.
    pub gas_limit: Option<i64>,
    /// EIP-1559 `maxFeePerGas` (wei, decimal).
    pub max_fee_per_gas: Option<String>,
    /// EIP-1559 `maxPriorityFeePerGas` (wei, decimal).
    pub max_priority_fee_per_gas: Option<String>,
    /// Where it stands.
    pub status: SendStatus,
    /// Why it was refused or reverted.
    pub error: Option<String>,
    /// The block it was mined in.
    pub block: Option<i64>,
    /// Gas used.
    pub gas_used: Option<i64>,
    /// Wei per gas paid (decimal).
    pub effective_gas_price: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// What the follower learnt of an open send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendSettlement {
    /// The new status.
    pub status: SendStatus,
    /// Why, when reverted.
    pub error: Option<String>,
    /// Block.
    pub block: Option<i64>,
    /// Gas used.
    pub gas_used: Option<i64>,
    /// Wei per gas (decimal).
    pub effective_gas_price: Option<String>,
}
