//! How a refused request is answered: the status, the `WWW-Authenticate` challenge
//! (RFC 6750 §3, RFC 9470 §3) and an RFC 9457 problem+json body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    /// The guard cannot verify tokens (no key set): 503.
    #[error("token verification is unavailable")]
    Unavailable,
}

impl Rejection {
    /// The HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) | Self::StepUp { .. } => {
                StatusCode::UNAUTHORIZED
            }
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
            } => {
                let mut challenge = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
                    quotable(reason)
                );
                if let Some(acr) = acr {
                    challenge.push_str(&format!(", acr_values=\"{}\"", quotable(acr)));
                }
                if let Some(max_age) = max_age {
                    challenge.push_str(&format!(", max_age={max_age}"));
                }
                Some(challenge)
            }
            Self::Unavailable => None,
        }
    }

    fn problem(&self) -> Problem {
        let (slug, title) = match self {
            Self::MissingToken | Self::InvalidToken(_) => {
                ("unauthenticated", "Authentication required")
            }
            Self::Forbidden => ("forbidden", "Forbidden"),
            Self::StepUp { .. } => (
                "step-up-required",
                "Stronger or fresher authentication required",
            ),
            Self::Unavailable => ("unavailable", "Service unavailable"),
        };
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
        response
    }
}

/// Keeps only the characters RFC 6750 §3 allows inside a quoted auth-param
/// (`%x20-21 / %x23-5B / %x5D-7E`), so configuration cannot break the header.
fn quotable(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c, ' '..='!' | '#'..='[' | ']'..='~'))
        .collect()
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
    }
}
