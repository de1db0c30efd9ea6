//! The decision for one proxied request: which rule governs it, whether a token is needed,
//! and whether its session passes. Only the session look-up (through the verified-session
//! cache) is I/O; the route turns the outcome into the proxy's answer.

use std::sync::Arc;

use crate::services::ServiceError;
use crate::services::forward_auth::Refusal;
use crate::state::AppState;
use crate::verified::{self, Verified};

/// The original request, as the proxy describes it.
#[derive(Clone, Copy, Debug)]
pub struct Original<'a> {
    /// Its method, when the proxy says.
    pub method: Option<&'a str>,
    /// Its host.
    pub host: &'a str,
    /// Its target (path and query).
    pub uri: &'a str,
}

/// A request the rules let through.
pub enum Pass<'a> {
    /// Through, with no identity to hand on (a public rule, or a rule without audience).
    Anonymous,
    /// Through, as this session, to the upstream `audience`.
    Identity {
        /// The verified session.
        session: Arc<Verified>,
        /// The rule's audience: the upstream the internal token is for.
        audience: &'a str,
    },
}

/// A request the rules refuse.
#[derive(Debug)]
pub enum Denial {
    /// No rule allows it, no token, a bad token or a missing role.
    Refused(ServiceError),
    /// The session must authenticate again, more strongly or more recently (RFC 9470).
    StepUp(Refusal),
}

impl From<ServiceError> for Denial {
    fn from(e: ServiceError) -> Self {
        Denial::Refused(e)
    }
}

/// Decides `original` for the bearer token (or page cookie) it came with, which `token` reads
/// only once a rule covers the request: the first `[forward_auth]` rule that covers it
/// governs, and none covering it is a refusal.
///
/// # Errors
/// [`Denial`] as above; storage failure.
pub async fn decide<'a>(
    state: &'a AppState,
    original: Original<'_>,
    token: impl FnOnce() -> Option<String>,
) -> Result<Pass<'a>, Denial> {
    let config = &state.config.forward_auth;
    let rule = config
        .find(original.method, original.host, original.uri)
        .ok_or(ServiceError::Forbidden("no rule allows this request"))?;
    let session = match (rule.public, token()) {
        (true, Some(t)) => verified::authenticate(state, &t).await.ok(),
        (true, None) => None,
        (false, Some(t)) => Some(verified::authenticate(state, &t).await?),
        (false, None) => {
            return Err(ServiceError::Unauthenticated("a bearer access token is required").into());
        }
    };
    let Some(session) = session else {
        return Ok(Pass::Anonymous);
    };
    match rule.check(&session.session.claims, state.now()) {
        Ok(()) => {}
        Err(_) if rule.public => return Ok(Pass::Anonymous),
        Err(Refusal::MissingRole) => {
            return Err(ServiceError::Forbidden("a required role is missing").into());
        }
        Err(refusal) => return Err(Denial::StepUp(refusal)),
    }
    Ok(match rule.audience.as_deref() {
        Some(audience) => Pass::Identity { session, audience },
        None => Pass::Anonymous,
    })
}
