//! `[password]`: argon2id cost and the NIST SP 800-63B policy for new passwords.

use super::error::InvalidValue;
use portcullis_core::password::{Argon2Params, PasswordHasher, PasswordPolicy};
use serde::{Deserialize, Serialize};

/// Password hashing parameters and policy.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// argon2id parameters.
    pub argon2: Argon2Params,
    /// NIST SP 800-63B policy.
    pub policy: PasswordPolicy,
    /// How many hashes may run at once (default: the number of cores).
    pub max_concurrent_hashes: Option<usize>,
}

impl PasswordConfig {
    /// The policy may not fall below NIST's floor, and argon2 must accept the parameters.
    ///
    /// # Errors
    /// A policy below the floor, or parameters argon2 refuses.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.policy.min_len < 8 || self.policy.max_len < 64 {
            return Err(InvalidValue::new(
                "password.policy",
                "needs min_len >= 8 and max_len >= 64 (NIST SP 800-63B)",
            ));
        }
        PasswordHasher::new(self.argon2)
            .map(drop)
            .map_err(|e| InvalidValue::new("password.argon2", e.to_string()))
    }
}
