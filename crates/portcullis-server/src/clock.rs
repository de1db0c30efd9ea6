//! The server's one clock and randomness source; core takes both as arguments.

use portcullis_core::entropy::Entropy;
use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in unix seconds.
pub trait Clock: Send + Sync {
    /// Unix seconds now.
    fn now(&self) -> i64;
    /// Unix milliseconds now.
    fn now_millis(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }
}

/// The operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // Without randomness no secret may be minted; stopping is the only safe answer.
            tracing::error!("the operating system's random generator failed");
            std::process::abort();
        }
    }
}
