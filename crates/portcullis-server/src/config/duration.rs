//! Durations as the configuration writes them: whole seconds (`…_secs`) or milliseconds
//! (`…_ms`) in TOML and the environment, [`Duration`] in Rust.
//!
//! The keys keep their unit suffix because they are a public interface (README, deployed
//! files); the fields drop it because the type now carries the unit. A negative or
//! non-integer value fails to deserialize, so figment reports it with the key's path.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// The largest integer TOML holds: a longer duration (only the environment can give one)
/// is printed as this rather than failing the whole rendering.
const TOML_MAX: u64 = i64::MAX.unsigned_abs();

/// `#[serde(with = "secs")]`: a [`Duration`] written as whole seconds.
pub(crate) mod secs {
    use super::{Deserialize, Deserializer, Duration, Serializer, TOML_MAX};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs().min(TOML_MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// `#[serde(with = "millis")]`: a [`Duration`] written as whole milliseconds.
pub(crate) mod millis {
    use super::{Deserialize, Deserializer, Duration, Serializer, TOML_MAX};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(
            u64::try_from(d.as_millis())
                .unwrap_or(TOML_MAX)
                .min(TOML_MAX),
        )
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// The domain counts time in `i64` unix seconds (`now + ttl`); this bridges a configured
/// [`Duration`] to it without a cast at every call site.
pub trait DurationExt {
    /// Whole seconds, saturating at `i64::MAX`.
    fn as_secs_i64(&self) -> i64;
}

impl DurationExt for Duration {
    fn as_secs_i64(&self) -> i64 {
        i64::try_from(self.as_secs()).unwrap_or(i64::MAX)
    }
}
