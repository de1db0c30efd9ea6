//! `[dualconfirm]`: timing and limits of the rotating words advisors and clients say on calls.

use super::duration::secs;
use super::error::{InvalidValue, positive};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// DualConfirm timing and limits.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DualConfirmConfig {
    /// Length of a word window.
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
    /// Time into a window during which the previous window's word is still accepted.
    #[serde(rename = "grace_secs", with = "secs")]
    pub grace: Duration,
    /// A party inactive this long ends the pair's session.
    #[serde(rename = "inactivity_secs", with = "secs")]
    pub inactivity: Duration,
    /// Checks of a heard word allowed per party and window.
    pub max_checks_per_window: u32,
    /// Pending invitations one advisor may have at a time (every invited address counts,
    /// whoever it belongs to).
    pub max_pending_invitations: u32,
    /// Invitations one advisor may send per hour (accepted, cancelled or pending).
    pub invitations_per_hour: u32,
    /// How long an invitation can be accepted.
    #[serde(rename = "invitation_ttl_secs", with = "secs")]
    pub invitation_ttl: Duration,
}

impl Default for DualConfirmConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            inactivity: Duration::from_secs(180),
            max_checks_per_window: 5,
            max_pending_invitations: 20,
            invitations_per_hour: 30,
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl DualConfirmConfig {
    /// A window must be long enough to say a word in, and the grace shorter than a window
    /// (else two past words would be accepted).
    ///
    /// # Errors
    /// The first value out of bounds.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.window < Duration::from_secs(2) {
            return Err(InvalidValue::new(
                "dualconfirm.window_secs",
                "must be at least 2",
            ));
        }
        if self.grace >= self.window {
            return Err(InvalidValue::new(
                "dualconfirm.grace_secs",
                "must be below window_secs",
            ));
        }
        positive("dualconfirm.inactivity_secs", self.inactivity.is_zero())?;
        positive(
            "dualconfirm.max_checks_per_window",
            self.max_checks_per_window == 0,
        )?;
        positive(
            "dualconfirm.max_pending_invitations",
            self.max_pending_invitations == 0,
        )?;
        positive(
            "dualconfirm.invitations_per_hour",
            self.invitations_per_hour == 0,
        )?;
        positive(
            "dualconfirm.invitation_ttl_secs",
            self.invitation_ttl.is_zero(),
        )
    }
}
