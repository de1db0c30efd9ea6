//! Portcullis guard: what a downstream Rust service links to accept Portcullis access tokens.
//!
//! Tokens are verified offline against Portcullis's published key set ([`JwksCache`]):
//! `EdDSA` only (`alg: none`, HMAC and every other algorithm are refused before a key is
//! chosen), `typ: at+jwt`, the configured `iss` and `aud`, `exp`/`nbf` with a leeway, and at
//! most 8 KiB. These checks are core's own ([`portcullis_core::token`]), the very ones the
//! issuer verifies with, so the two cannot drift apart. Each refusal is a distinct
//! [`GuardError`]. Verified tokens are cached until they expire (found by a keyed hash of the
//! signature, confirmed against the whole token text), and [`Guard::revoke_session`] refuses
//! every token of a session from then on ([`Guard::spawn_revocation_feed`] follows
//! Portcullis's revocations).
//!
//! A service configures its guard with [`GuardConfig::builder`]; the public types keep their
//! fields private and the errors are `#[non_exhaustive]`, so this crate can grow without
//! breaking the services that link it.
//!
//! Routes demand a [`Requirement`] (roles, `acr`, `max_age`) through a [`GuardLayer`];
//! handlers receive the claims with the [`Verified`] extractor. A missing or bad token is
//! answered 401 with `WWW-Authenticate: Bearer`, a missing role 403, and a too weak or too
//! old authentication 401 with an RFC 9470 `insufficient_user_authentication` challenge so
//! the client can step up at Portcullis and retry. Bodies are problem+json (RFC 9457).
//!
//! This crate depends on `portcullis-core` for the token format and its checks only; it never
//! pulls in the server or its storage. See `examples/protected_service/` (an accounts-ledger API, run by
//! `crates/portcullis-server/tests/example_service.rs`).

#![warn(missing_docs)]

mod cache;
mod config;
mod dpop;
mod error;
mod extract;
mod feed;
mod guard;
mod jwks;
mod layer;
mod reject;

pub use config::{GuardConfig, GuardConfigBuilder};
pub use error::GuardError;
pub use extract::Verified;
pub use feed::{FeedAuth, REVOCATIONS_SCOPE};
pub use guard::{Clock, Guard, GuardStats};
pub use jwks::JwksCache;
pub use layer::{GuardLayer, GuardService};
/// What a route demands of a verified token (core's, shared with forward-auth): every role,
/// at least an `acr` (`aalN` ordered, other classes exact), an authentication at most
/// `max_age` seconds old.
pub use portcullis_core::token::Requirement;
pub use portcullis_core::token::{AccessClaims, MAX_TOKEN_BYTES};
pub use reject::{PROBLEM_BASE, Rejection};
