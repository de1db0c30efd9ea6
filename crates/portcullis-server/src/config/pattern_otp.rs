//! `[pattern_otp]`: the shape of the patterns a pattern OTP sends (the grid's side and the
//! number of dots). Their lifetime, attempt bound and send bound are those of every sent code
//! (`[mfa] otp_ttl_secs`, `otp_max_attempts`, `otp_max_sends`).

use super::error::InvalidValue;
use portcullis_core::factor::pattern::{PatternGrid, WeakGrid};
use serde::{Deserialize, Serialize};

/// Pattern OTP.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternOtpConfig {
    /// The side n of the n×n grid of dots (3 to 8); dots are numbered 1 to n² row by row.
    pub grid_size: u8,
    /// Distinct dots per pattern (k): at least 4, and the grid must allow at least 10^6
    /// sequences (n²·(n²−1)·…·(n²−k+1)), as many as six-digit codes.
    pub dots: u8,
}

impl Default for PatternOtpConfig {
    fn default() -> Self {
        let grid = PatternGrid::default();
        Self {
            grid_size: grid.size(),
            dots: grid.dots(),
        }
    }
}

impl PatternOtpConfig {
    /// The grid these keys describe.
    ///
    /// # Errors
    /// A shape that allows fewer patterns than a six-digit code, or is out of bounds.
    pub fn grid(&self) -> Result<PatternGrid, InvalidValue> {
        PatternGrid::new(self.grid_size, self.dots).map_err(|e| {
            let key = match e {
                WeakGrid::Size => "pattern_otp.grid_size",
                WeakGrid::Dots | WeakGrid::Space => "pattern_otp.dots",
            };
            InvalidValue::new(key, e.to_string())
        })
    }

    /// Refuses a grid weaker than a six-digit code.
    ///
    /// # Errors
    /// As [`PatternOtpConfig::grid`].
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.grid().map(|_| ())
    }
}
