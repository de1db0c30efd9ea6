//! Who may call what, decided in one place.
//!
//! [`token`] turns an access token into a verified caller (a live session, or a service
//! account's client-credentials token); [`check`] holds the rules ("a session", "a session
//! with one of these roles", "a client allowed this scope", "an administrator") as one small
//! builder, [`AuthCheck`], that routes and services state their needs with. The extractors in
//! `crate::extract` and the pages only find the token; they never decide. [`api_key`] finds
//! the front-end application behind `X-API-Key` ([`require_app`]), which some endpoints ask
//! for beside the user's session.

pub mod api_key;
pub mod caller;
pub mod check;
pub mod dpop;
pub mod token;

pub use api_key::{CallingApp, identify_app, require_app};
pub use caller::{bearer_caller, client_caller};
pub use check::{ADMIN_ROLE, AuthCheck, Caller};

pub use token::{
    AuthSession, authenticate, authenticate_presented, authenticate_session,
    authenticate_with_leeway, ids_of, session_of, verify_token,
};
