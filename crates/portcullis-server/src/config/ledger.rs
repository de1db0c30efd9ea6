//! `[ledger]`: where the `auth` and `req` ledgers keep their tokens. The audit ledger is
//! always the embedded one.
//!
//! `backend = "embedded"` (the default): the Merkle ledgers beside the database.
//! `backend = "evm"` (a binary built with the `evm` feature): two ERC-721 contracts on the
//! chain of `[chain]`, deployed by `portcullis ledger deploy`, written by the issuer key in
//! the data directory, and read through a local index fed by their events.

use std::path::PathBuf;
use std::time::Duration;

use super::duration::secs;
use serde::{Deserialize, Serialize};

/// Which ledgers hold the tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LedgerBackend {
    /// The embedded Merkle ledgers.
    #[default]
    Embedded,
    /// ERC-721 contracts on a chain.
    Evm,
}

/// `[ledger]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Where the `auth` and `req` tokens live.
    pub backend: LedgerBackend,
    /// `[ledger.evm]`: the contracts, for `backend = "evm"`.
    pub evm: EvmLedgerConfig,
}

/// `[ledger.evm]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvmLedgerConfig {
    /// The AuthNFT contract's address (`portcullis ledger deploy` prints it).
    pub auth_contract: Option<String>,
    /// The ReqNFT contract's address.
    pub req_contract: Option<String>,
    /// The block the contracts were deployed in: the index reads their events from there.
    pub start_block: u64,
    /// The issuer's key file, relative to the data directory: the account that deploys the
    /// contracts and signs every mint, transfer and burn (it pays their gas).
    pub issuer_key_file: PathBuf,
    /// How often the index reads new events from the chain (other nodes' writes).
    #[serde(rename = "follow_interval_secs", with = "secs")]
    pub follow_interval: Duration,
}

impl Default for EvmLedgerConfig {
    fn default() -> Self {
        Self {
            auth_contract: None,
            req_contract: None,
            start_block: 0,
            issuer_key_file: PathBuf::from("ledger-evm-issuer.key"),
            follow_interval: Duration::from_secs(5),
        }
    }
}

fn is_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl LedgerConfig {
    /// With the evm backend: both contracts, as addresses, and a follow interval.
    ///
    /// # Errors
    /// The first key missing or malformed.
    pub fn validate(&self, chain_configured: bool) -> Result<(), super::InvalidValue> {
        if self.backend != LedgerBackend::Evm {
            return Ok(());
        }
        if !chain_configured {
            return Err(super::InvalidValue::new(
                "ledger.backend",
                "\"evm\" needs [chain] rpc_url and chain_id",
            ));
        }
        for (key, value) in [
            ("ledger.evm.auth_contract", &self.evm.auth_contract),
            ("ledger.evm.req_contract", &self.evm.req_contract),
        ] {
            match value {
                Some(a) if is_address(a) => {}
                Some(_) => {
                    return Err(super::InvalidValue::new(
                        key,
                        "must be a 0x-prefixed 20-byte address",
                    ));
                }
                None => {
                    return Err(super::InvalidValue::new(
                        key,
                        "is required with backend = \"evm\" (see `portcullis ledger deploy`)",
                    ));
                }
            }
        }
        if self.evm.issuer_key_file.as_os_str().is_empty() {
            return Err(super::InvalidValue::new(
                "ledger.evm.issuer_key_file",
                "must not be empty",
            ));
        }
        super::error::positive(
            "ledger.evm.follow_interval_secs",
            self.evm.follow_interval.is_zero(),
        )
    }
}
