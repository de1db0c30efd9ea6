//! API key rows: a front-end application's key, kept as a hash.

use portcullis_core::ids::ApiKeyId;
use portcullis_core::secret::TokenHash;
use std::fmt;

/// An API key of a front-end application.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id (UUIDv7).
    pub id: ApiKeyId,
    /// What the operator calls the application.
    pub name: String,
    /// SHA-256 of the key's random part: the only form of the key that is kept.
    pub key_hash: TokenHash,
    /// The key's public start (`pk_live_` and a few characters), shown in lists.
    pub prefix: String,
    /// Names of the scopes granted (`core::api_key::ApiScope`).
    pub scopes: Vec<String>,
    /// Normalised origins (`scheme://host[:port]`) a browser may use it from; empty: any.
    pub origins: Vec<String>,
    /// Requests per minute; `None`: the configured default.
    pub rate_per_minute: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `Some` once revoked, after which it is refused.
    pub revoked_at: Option<i64>,
    /// Unix seconds of the last accepted request, to a minute or so.
    pub last_used_at: Option<i64>,
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}
