//! API keys of front-end applications: a browser app identifies itself with `X-API-Key` on
//! the endpoints that ask for one (the custodial wallets), beside the user's access token.
//!
//! An administrator makes a key (`/v1/admin/api-keys` or `portcullis apikey add`) with the
//! scopes it may use, the browser origins it may be used from and, optionally, its own rate;
//! the key is shown that once. The store keeps its SHA-256 and a public prefix (see
//! `portcullis_core::api_key`), and every request looks the key up in the database, so a
//! revocation on any node holds on every node from the next request: no cache to invalidate.
//!
//! Management is in `manage`, the check of a presented key in `check`. Every creation and
//! revocation is audited, never with the key.

mod check;
mod manage;

pub use check::check;
pub use manage::{Created, NewKey, create, list, revoke};

use portcullis_core::api_key::ApiScope;
use portcullis_store::model::ApiKeyRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// A key as an operator sees it: never the key itself nor its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Id (UUIDv7).
    pub id: String,
    /// The application's name.
    pub name: String,
    /// The key's public start (`pk_live_…`), to tell keys apart.
    pub prefix: String,
    /// Scopes granted (`wallets:read`, `wallets:create`, `wallets:send`, `wallets:sign`).
    pub scopes: Vec<String>,
    /// Origins (`scheme://host[:port]`) a browser may use the key from; empty: any.
    pub origins: Vec<String>,
    /// Requests per minute allowed to the key; absent: the configured default.
    pub rate_per_minute: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; present once revoked.
    pub revoked_at: Option<i64>,
    /// Unix seconds of the last accepted request (to a minute); absent: never used.
    pub last_used_at: Option<i64>,
}

impl From<&ApiKeyRecord> for KeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        KeyView {
            id: k.id.to_string(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k.scopes.clone(),
            origins: k.origins.clone(),
            rate_per_minute: k.rate_per_minute,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// The scopes of a stored key that are still scopes (a name retired since is ignored).
pub(crate) fn scopes_of(k: &ApiKeyRecord) -> Vec<ApiScope> {
    k.scopes.iter().filter_map(|s| s.parse().ok()).collect()
}
