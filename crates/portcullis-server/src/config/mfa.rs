//! `[mfa]`: second factors: the authenticator-app issuer, how fresh an authentication must
//! be to manage factors, and the bounds of codes sent by e-mail or SMS.

use super::duration::secs;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Second factors.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Issuer shown by authenticator apps.
    pub totp_issuer: String,
    /// Managing factors needs an authentication at most this old; older sessions are asked
    /// to step up.
    #[serde(rename = "fresh_auth_secs", with = "secs")]
    pub fresh_auth: Duration,
    /// Lifetime of a code sent by e-mail or SMS.
    #[serde(rename = "otp_ttl_secs", with = "secs")]
    pub otp_ttl: Duration,
    /// Wrong answers a sent code survives.
    pub otp_max_attempts: i64,
    /// Codes that may be sent to one account on one channel per 15 minutes.
    pub otp_max_sends: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            totp_issuer: "Portcullis".into(),
            fresh_auth: Duration::from_secs(300),
            otp_ttl: Duration::from_secs(300),
            otp_max_attempts: 5,
            otp_max_sends: 5,
        }
    }
}
