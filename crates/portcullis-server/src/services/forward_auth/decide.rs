//! The decision for one proxied request: which rule governs it, whether a token is needed,
//! and whether its session passes. Only the session look-up (through the verified-session
//! cache) is I/O: reading the proxy's headers ([`Original::from_headers`]) and judging a
//! rule against the session, or its absence ([`judge`]), are pure, so the fuzz target
//! `forward_auth` drives them with any headers, rules and claims.

use std::sync::Arc;

use axum::http::HeaderMap;
use portcullis_core::token::AccessClaims;

use crate::auth::dpop::{Credential, check_presentation};
use crate::config::Rule;
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
    /// Its scheme, from `X-Forwarded-Proto` (`https` when the proxy does not say).
    pub proto: &'a str,
}

impl Original<'_> {
    /// The URI a DPoP proof for this request names: scheme, host and path, no query.
    pub fn htu(&self) -> String {
        let path = self.uri.split(['?', '#']).next().unwrap_or_default();
        format!("{}://{}{}", self.proto, self.host, path)
    }
}

impl<'a> Original<'a> {
    /// The original request as the proxy's headers describe it: `X-Forwarded-Method`,
    /// `X-Forwarded-Host` and `X-Forwarded-Uri` (Traefik), or `X-Original-Method` and
    /// `X-Original-URI` (nginx). A header that is not visible ASCII counts as absent; a
    /// missing host or target is empty, which no rule with a host and no path covers.
    pub fn from_headers(headers: &'a HeaderMap) -> Self {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
        };
        Self {
            method: get(&["x-forwarded-method", "x-original-method"]),
            host: get(&["x-forwarded-host"]).unwrap_or_default(),
            uri: get(&["x-forwarded-uri", "x-original-uri"]).unwrap_or_default(),
            proto: get(&["x-forwarded-proto"]).unwrap_or("https"),
        }
    }
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
    token: impl FnOnce() -> Option<Credential>,
) -> Result<Pass<'a>, Denial> {
    let config = &state.config.forward_auth;
    let rule = config
        .find(original.method, original.host, original.uri)
        .ok_or(ServiceError::Forbidden("no rule allows this request"))?;
    let session = match (rule.public, token()) {
        (true, Some(t)) => authenticate(state, &original, &t).await.ok(),
        (false, Some(t)) => Some(authenticate(state, &original, &t).await?),
        (_, None) => None,
    };
    let claims = session.as_ref().map(|s| &s.session.claims);
    Ok(match (judge(rule, claims, state.now())?, session) {
        (Some(audience), Some(session)) => Pass::Identity { session, audience },
        _ => Pass::Anonymous,
    })
}

/// The verified session of `credential`, presented as its binding demands for the
/// `original` request (a DPoP proof is checked on every request, cached session or not).
async fn authenticate(
    state: &AppState,
    original: &Original<'_>,
    credential: &Credential,
) -> Result<Arc<Verified>, ServiceError> {
    let presented = credential.presented();
    let verified = verified::authenticate(state, presented.token()).await?;
    let method = original.method.unwrap_or_default();
    check_presentation(
        state,
        &verified.session.claims,
        presented,
        method,
        &original.htu(),
    )?;
    Ok(verified)
}

/// What `rule` says of a request whose token proved `claims` (`None`: no token, or on a
/// public rule one that did not verify) at `now`: the audience of the upstream the identity
/// goes to, `None` to let it through without one, or the refusal. A rule that is not public
/// never lets a request without a session through.
///
/// # Errors
/// [`Denial::Refused`] without a session or without a required role (a public rule lets
/// both through anonymously); [`Denial::StepUp`] when the authentication is too weak or old.
pub fn judge<'r>(
    rule: &'r Rule,
    claims: Option<&AccessClaims>,
    now: i64,
) -> Result<Option<&'r str>, Denial> {
    let Some(claims) = claims else {
        if rule.public {
            return Ok(None);
        }
        return Err(ServiceError::Unauthenticated("a bearer access token is required").into());
    };
    match rule.check(claims, now) {
        Ok(()) => Ok(rule.audience.as_deref()),
        Err(_) if rule.public => Ok(None),
        Err(Refusal::MissingRole) => {
            Err(ServiceError::Forbidden("a required role is missing").into())
        }
        Err(refusal) => Err(Denial::StepUp(refusal)),
    }
}
