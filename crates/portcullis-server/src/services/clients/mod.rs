//! Service accounts: OAuth 2.0 clients that authenticate with a secret and obtain access
//! tokens through the client-credentials grant (RFC 6749 §4.4).
//!
//! A secret is a 256-bit random [`OpaqueToken`](portcullis_core::secret::OpaqueToken); the
//! store keeps only its SHA-256 (a secret of that entropy needs no slow hash) and comparison
//! is constant-time. An unknown client is checked against a dummy hash so it costs and
//! answers the same as a wrong secret.
//!
//! A client's access token is one of our EdDSA JWTs with `sub` and `sid` both
//! `client:<id>` and a `scope` claim. It names no session, so the user extractors
//! ([`crate::auth::authenticate`]) refuse it; introspection checks the client instead.
//!
//! Management (create, rotate, remove) is in `manage`, the grant and client authentication
//! in `grant`, the verification of issued client tokens in `tokens` and RFC 7009 revocation
//! in `revoke`; their items are re-exported here, so callers name them `clients::…`.

mod grant;
mod manage;
mod revoke;
mod tokens;

pub use grant::{ClientCredentials, ClientTokenResponse, OAuthError, authenticate, grant};
pub use manage::{NewClient, create, remove, rotate_secret};
pub use revoke::revoke;
pub use tokens::{active_client_of, client_of, verify_client_token};

use portcullis_store::model::ClientRecord;

/// Prefix of `sub` and `sid` in a client's access token.
pub const SUBJECT_PREFIX: &str = "client:";

/// Scope a client needs to call `POST /v1/introspect`: reading other parties' tokens is a
/// privilege, not something every service account has.
pub const INTROSPECT_SCOPE: &str = "portcullis:introspect";

/// Scope a client needs to end users' sessions with `POST /v1/revoke` (RFC 7009 §2.1 says
/// a server verifies the client may revoke a token; users' tokens are not issued to clients).
pub const REVOKE_SCOPE: &str = "portcullis:revoke";

/// Scope a client needs to read the revocation feed (`GET /v1/revocations`): what a guard in
/// front of a service asks for, so it learns of ended sessions without a user's session.
pub const REVOCATIONS_SCOPE: &str = "portcullis:revocations";

/// Whether `client` is allowed `scope`.
pub fn allows(client: &ClientRecord, scope: &str) -> bool {
    client.scopes.iter().any(|s| s == scope)
}
