//! Identifiers: UUIDv7 newtypes, so an account id cannot be passed where a session id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id built from the given timestamp (unix milliseconds) and
            /// random bytes.
            pub fn new(now_millis: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(now_millis, &random).into_uuid())
            }

            /// Wraps an existing UUID.
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies an account.
    AccountId
);
uuid_id!(
    /// Identifies a server-side session (the `sid` claim).
    SessionId
);
uuid_id!(
    /// Identifies a pending login challenge.
    ChallengeId
);
uuid_id!(
    /// Identifies an API key of a front-end application.
    ApiKeyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_v7() {
        let a = AccountId::new(1_000, [1; 10]);
        let b = AccountId::new(2_000, [0; 10]);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a, a.to_string().parse().unwrap_or(b));
    }
}
