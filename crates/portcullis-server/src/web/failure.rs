//! What the pages make of a failed service call: the status and the sentence a person reads.
//!
//! This is the pages' one mapping of [`ServiceError`] (the API's is `crate::error`): pages
//! match on its variants, never on problem slugs.

use axum::http::StatusCode;
use portcullis_core::login::ChallengeError;

use crate::services::ServiceError;
use crate::services::error::{ApiKeyRefusal, CustodyRefusal};

/// The status a failed call maps to.
pub(crate) fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Invalid { .. }
        | ServiceError::Challenge(ChallengeError::FactorNotOffered) => StatusCode::BAD_REQUEST,
        ServiceError::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::InvalidCredentials
        | ServiceError::Unauthenticated(_)
        | ServiceError::Dpop { .. }
        | ServiceError::StepUpRequired { .. }
        | ServiceError::Challenge(ChallengeError::Rejected { .. })
        | ServiceError::ApiKey(ApiKeyRefusal::Missing | ApiKeyRefusal::Invalid) => {
            StatusCode::UNAUTHORIZED
        }
        ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted) => {
            StatusCode::GONE
        }
        ServiceError::Forbidden(_)
        | ServiceError::ApiKey(ApiKeyRefusal::Scope(_) | ApiKeyRefusal::Origin) => {
            StatusCode::FORBIDDEN
        }
        ServiceError::Custody(refusal) => match refusal {
            CustodyRefusal::WrongPassword | CustodyRefusal::Limit(_) => StatusCode::FORBIDDEN,
            CustodyRefusal::InsufficientFunds | CustodyRefusal::ChainRejected(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CustodyRefusal::ChainUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            CustodyRefusal::TooManyWallets => StatusCode::CONFLICT,
        },
        ServiceError::NotFound => StatusCode::NOT_FOUND,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Upstream(_) => StatusCode::BAD_GATEWAY,
        ServiceError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a person is told about a failed call. A failure on our side is logged here with its
/// cause chain, and the page says only that it failed.
pub(crate) fn error_text(e: &ServiceError) -> String {
    match e {
        ServiceError::InvalidCredentials | ServiceError::Challenge(_) => {
            format!("{}.", capitalise(&e.to_string()))
        }
        ServiceError::RateLimited { retry_after } => {
            format!("Too many attempts: wait {retry_after} seconds and try again.")
        }
        ServiceError::NotFound => "Something went wrong; try again.".to_owned(),
        ServiceError::Unexpected(cause) => {
            tracing::error!(error = %cause.chain(), "page request failed");
            "The server could not complete the request".to_owned()
        }
        _ => capitalise(&e.to_string()),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::error::Invalid;

    #[test]
    fn refusals_read_as_sentences_and_our_failures_say_nothing_of_their_cause() {
        assert_eq!(
            error_text(&ServiceError::InvalidCredentials),
            "Invalid credentials."
        );
        assert_eq!(
            error_text(&ServiceError::invalid(Invalid::Code, "the code is wrong")),
            "The code is wrong"
        );
        let e = ServiceError::unexpected("database on fire");
        assert_eq!(error_text(&e), "The server could not complete the request");
        assert_eq!(status_of(&e), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            status_of(&ServiceError::Challenge(ChallengeError::Expired)),
            StatusCode::GONE
        );
    }
}
