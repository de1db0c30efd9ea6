//! How a refused request is answered: the status, the `WWW-Authenticate` challenge
//! (RFC 6750 §3, RFC 9470 §3) and an RFC 9457 problem+json body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use portcullis_core::token::requirement::{quotable, step_up_challenge};

use portcullis_core::token::dpop::DpopError;

use crate::GuardError;

/// Base of the problem `type` URIs, shared with the Portcullis server.
pub const PROBLEM_BASE: &str = "https://portcullis.dev/problems/";

/// Why the guard refused a request.
///
/// New kinds of refusal may be added, so a `match` needs a wildcard arm;
/// [`Rejection::status`] and [`Rejection::www_authenticate`] answer for every kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Authorization: Bearer` header: 401 with a bare `Bearer` challenge.
    #[error("an access token is required")]
    MissingToken,
    /// The token was refused: 401 with `error="invalid_token"`.
    #[error("{0}")]
    InvalidToken(GuardError),
    /// The token lacks a required role: 403 with `error="insufficient_scope"`.
    #[error("the token lacks a required role")]
    Forbidden,
    /// The authentication is too weak or too old: 401 with
    /// `error="insufficient_user_authentication"` and the `acr_values` / `max_age` to meet.
    #[error("{reason}")]
    StepUp {
        /// The `acr` to reach, if the route demands one.
        acr: Option<String>,
        /// The largest acceptable authentication age in seconds, if the route demands one.
        max_age: Option<i64>,
        /// What is missing, for a human.
        reason: &'static str,
    },
    /// The guard cannot verify tokens (no key set): 401 is wrong for that, so 503.
    #[error("token verification is unavailable")]
    Unavailable,
    /// A DPoP-bound token without a good proof, or a token presented with the wrong scheme
    /// (RFC 9449): 401 with a `DPoP` challenge (`use_dpop_nonce` when only the nonce was
    /// missing) and a fresh `DPoP-Nonce`.
    #[error("{error}")]
    Dpop {
        /// What is wrong.
        error: DpopError,
        /// A fresh nonce of this guard for the next proof.
        nonce: String,
    },
}

impl Rejection {
    /// The HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidToken(_)
            | Self::StepUp { .. }
            | Self::Dpop { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `WWW-Authenticate` challenge to send, if any.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::MissingToken => Some("Bearer".to_owned()),
            Self::InvalidToken(err) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quotable(&err.to_string())
            )),
            Self::Forbidden => Some(
                "Bearer error=\"insufficient_scope\", error_description=\"a required role is missing\""
                    .to_owned(),
            ),
            Self::StepUp {
                acr,
                max_age,
                reason,
            } => Some(step_up_challenge(reason, acr.as_deref(), *max_age)),
            Self::Dpop { error, .. } => Some(format!(
                "DPoP error=\"{}\", error_description=\"{}\", algs=\"ES256K EdDSA\"",
                dpop_error_code(error),
                quotable(&error.to_string())
            )),
            Self::Unavailable => None,
        }
    }

    /// The problem slug of this rejection.
    fn slug(&self) -> (&'static str, &'static str) {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => {
                ("unauthenticated", "Authentication required")
            }
            Self::Forbidden => ("forbidden", "Forbidden"),
            Self::StepUp { .. } => (
                "step-up-required",
                "Stronger or fresher authentication required",
            ),
            Self::Unavailable => ("unavailable", "Service unavailable"),
            Self::Dpop {
                error: DpopError::UseNonce,
                ..
            } => ("use-dpop-nonce", "DPoP nonce required"),
            Self::Dpop { .. } => ("invalid-dpop-proof", "Invalid DPoP proof"),
        }
    }

    fn problem(&self) -> Problem {
        let (slug, title) = self.slug();
        Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: self.status().as_u16(),
            detail: self.to_string(),
            acr_values: match self {
                Self::StepUp { acr, .. } => acr.clone(),
                _ => None,
            },
            max_age: match self {
                Self::StepUp { max_age, .. } => *max_age,
                _ => None,
            },
        }
    }
}

/// An RFC 9457 problem details body.
#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    type_: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr_values: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age: Option<i64>,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .www_authenticate()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Self::Dpop { nonce, .. } = &self
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            headers.insert("dpop-nonce", value);
        }
        response
    }
}

/// The RFC 9449 §7.1 error code of a refused DPoP request.
fn dpop_error_code(error: &DpopError) -> &'static str {
    match error {
        DpopError::UseNonce => "use_dpop_nonce",
        DpopError::BoundToken | DpopError::UnboundToken => "invalid_token",
        _ => "invalid_dpop_proof",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_challenge_has_the_rfc_9470_shape() {
        let rejection = Rejection::StepUp {
            acr: Some("aal2".to_owned()),
            max_age: Some(300),
            reason: "A stronger authentication is required",
        };
        assert_eq!(
            rejection.www_authenticate().as_deref(),
            Some(
                "Bearer error=\"insufficient_user_authentication\", \
                 error_description=\"A stronger authentication is required\", \
                 acr_values=\"aal2\", max_age=300"
            )
        );
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn quoted_values_cannot_break_the_header() {
        assert_eq!(quotable("a\"b\\c\r\nd"), "abcd");
        let rejection = Rejection::StepUp {
            acr: Some("aal\"2".to_owned()),
            max_age: None,
            reason: "x",
        };
        assert!(
            rejection
                .www_authenticate()
                .is_some_and(|c| c.ends_with("acr_values=\"aal2\""))
        );
    }
}
