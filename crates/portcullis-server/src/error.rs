//! One error type for the HTTP layer, mapped once to RFC 9457 problem details.
//!
//! Services fail with [`ServiceError`], which [`ApiError`] wraps; one exhaustive match here
//! gives each refusal its status and problem `type`, so a new refusal is a compile error until
//! it has them. `ApiError`'s own variants are only what the HTTP layer alone can get wrong. There is no blanket conversion from other errors. A 5xx body stays generic; its
//! cause chain is logged with the request id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::contact::ContactError;
use portcullis_core::login::ChallengeError;
use portcullis_core::token::TokenError;
use portcullis_core::token::requirement::step_up_challenge;
use portcullis_store::StoreError;

use crate::services::error::{ApiKeyRefusal, CustodyRefusal, Invalid, ServiceError, Unexpected};
use serde::Serialize;
use utoipa::ToSchema;

/// Base of our problem `type` URIs.
pub const PROBLEM_BASE: &str = "https://portcullis.dev/problems/";

/// A problem details body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time, for a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Machine-readable reason code, where one helps (e.g. the password rule that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Seconds to wait before retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Everything a handler can fail with: a service's refusal, or what only HTTP can get wrong.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What a service refused or failed with; [`ApiError::parts`] gives each its status.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A request the HTTP layer could not read (a bad body, query or header).
    #[error("{detail}")]
    BadRequest {
        /// Problem slug.
        slug: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Body too large.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Wrong content type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Method not allowed on this route.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ApiError {
    /// A 400 with a slug and explanation.
    pub fn bad_request(slug: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            slug,
            detail: detail.into(),
        }
    }

    /// Status, problem slug and title: the one table of what each error means on the API.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Service(e) => service_parts(e),
            ApiError::BadRequest { slug, .. } => (StatusCode::BAD_REQUEST, slug, "Invalid request"),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
        }
    }

    /// The problem body this error renders to.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let detail = match self {
            ApiError::Service(ServiceError::Unexpected(_)) => {
                Some("the server could not complete the request".to_owned())
            }
            ApiError::Service(ServiceError::NotFound) | ApiError::MethodNotAllowed => None,
            other => Some(other.to_string()),
        };
        let code = match self {
            ApiError::Service(ServiceError::WeakPassword(r)) => Some(r.code().to_owned()),
            _ => None,
        };
        let retry_after = match self {
            ApiError::Service(ServiceError::RateLimited { retry_after }) => Some(*retry_after),
            _ => None,
        };
        Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code,
            retry_after,
        }
    }
}

/// The service layer's refusals, mapped to their HTTP meaning: this is the one place that
/// decides which status and problem `type` each domain error gets on the API.
fn service_parts(e: &ServiceError) -> (StatusCode, &'static str, &'static str) {
    use ServiceError::*;
    match e {
        Invalid {
            what: crate::services::error::Invalid::ImageTooLarge,
            ..
        } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "image-too-large",
            "Image too large",
        ),
        Invalid {
            what: crate::services::error::Invalid::ImageType,
            ..
        } => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-image-type",
            "Unsupported image type",
        ),
        Invalid { what, .. } => (
            StatusCode::BAD_REQUEST,
            invalid_slug(*what),
            "Invalid request",
        ),
        WeakPassword(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak-password",
            "Password refused",
        ),
        InvalidCredentials | Challenge(ChallengeError::Rejected { .. }) => (
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Invalid credentials",
        ),
        Unauthenticated(_) => (
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
        ),
        Dpop {
            use_nonce: true, ..
        } => (
            StatusCode::UNAUTHORIZED,
            "use-dpop-nonce",
            "DPoP nonce required",
        ),
        Dpop { .. } => (
            StatusCode::UNAUTHORIZED,
            "invalid-dpop-proof",
            "Invalid DPoP proof",
        ),
        Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        ApiKey(ApiKeyRefusal::Missing) => (
            StatusCode::UNAUTHORIZED,
            "api-key-required",
            "API key required",
        ),
        ApiKey(ApiKeyRefusal::Invalid) => (
            StatusCode::UNAUTHORIZED,
            "api-key-invalid",
            "Invalid API key",
        ),
        ApiKey(ApiKeyRefusal::Scope(_)) => (
            StatusCode::FORBIDDEN,
            "api-key-scope",
            "API key not allowed this scope",
        ),
        ApiKey(ApiKeyRefusal::Origin) => (
            StatusCode::FORBIDDEN,
            "api-key-origin",
            "Origin not allowed for this API key",
        ),
        Custody(CustodyRefusal::WrongPassword) => (
            StatusCode::FORBIDDEN,
            "wallet-password",
            "Wrong wallet password",
        ),
        Custody(CustodyRefusal::Limit(_)) => (
            StatusCode::FORBIDDEN,
            "spend-limit",
            "Spending limit reached",
        ),
        Custody(CustodyRefusal::InsufficientFunds) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient-funds",
            "Insufficient funds",
        ),
        Custody(CustodyRefusal::ChainUnavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "chain-unavailable",
            "Chain unavailable",
        ),
        Custody(CustodyRefusal::ChainRejected(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "chain-rejected",
            "Transaction refused by the chain",
        ),
        Custody(CustodyRefusal::TooManyWallets) => {
            (StatusCode::CONFLICT, "too-many-wallets", "Too many wallets")
        }
        StepUpRequired { .. } => (
            StatusCode::UNAUTHORIZED,
            "step-up-required",
            "Fresh authentication required",
        ),
        NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
        Challenge(ChallengeError::Expired) => (
            StatusCode::GONE,
            "challenge-expired",
            "Login challenge expired",
        ),
        Challenge(ChallengeError::Exhausted) => (
            StatusCode::GONE,
            "challenge-exhausted",
            "Login challenge exhausted",
        ),
        Challenge(ChallengeError::FactorNotOffered) => (
            StatusCode::BAD_REQUEST,
            "factor-not-offered",
            "Factor not offered",
        ),
        RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
        ),
        Upstream(_) => (
            StatusCode::BAD_GATEWAY,
            "upstream-failed",
            "Delivery failed",
        ),
        Unexpected(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Service(ServiceError::Unexpected(cause)) = &self {
            tracing::error!(error = %cause.chain(), "request failed");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::Service(ServiceError::RateLimited { retry_after }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Service(ServiceError::Unauthenticated(_)) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // RFC 9110 wants a challenge with every 401; this names the header to send.
            ApiError::Service(ServiceError::ApiKey(
                ApiKeyRefusal::Missing | ApiKeyRefusal::Invalid,
            )) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("ApiKey header=\"X-API-Key\""),
                );
            }
            ApiError::Service(ServiceError::Dpop {
                use_nonce, nonce, ..
            }) => {
                let error = if *use_nonce {
                    "use_dpop_nonce"
                } else {
                    "invalid_dpop_proof"
                };
                let challenge = format!("DPoP error=\"{error}\", algs=\"ES256K EdDSA\"");
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
                if let Ok(v) = HeaderValue::from_str(nonce) {
                    headers.insert("dpop-nonce", v);
                }
            }
            ApiError::Service(ServiceError::StepUpRequired { acr, max_age, .. }) => {
                let challenge = step_up_challenge(
                    "A stronger or fresher authentication is required",
                    *acr,
                    Some(*max_age),
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            _ => {}
        }
        response
    }
}

/// The problem slug of each broken input rule (stable: clients match on it).
fn invalid_slug(what: Invalid) -> &'static str {
    match what {
        Invalid::Email => "invalid-email",
        Invalid::Phone => "invalid-phone",
        Invalid::DisplayName => "invalid-display-name",
        Invalid::Token => "invalid-token",
        Invalid::Code => "invalid-code",
        Invalid::Label => "invalid-label",
        Invalid::ClientName => "invalid-name",
        Invalid::Scope => "invalid-scope",
        Invalid::MaxAge => "invalid-max-age",
        Invalid::NotASentCode => "not-a-sent-code",
        Invalid::WebauthnRefused => "webauthn-refused",
        Invalid::NotEligible => "not-eligible",
        Invalid::UnknownAccount => "unknown-account",
        Invalid::WebhookUrl => "invalid-webhook-url",
        Invalid::WebhookEvent => "invalid-event-type",
        Invalid::Image => "invalid-image",
        Invalid::ImageTooLarge => "image-too-large",
        Invalid::ImageType => "unsupported-image-type",
        Invalid::Gesture => "invalid-gesture",
        Invalid::LedgerRange => "ledger-range",
        Invalid::WalletAddress => "invalid-wallet-address",
        Invalid::WalletSignature => "invalid-wallet-signature",
        Invalid::SessionKey => "invalid-session-key",
        Invalid::Origin => "invalid-origin",
        Invalid::Rate => "invalid-rate",
        Invalid::Amount => "invalid-amount",
        Invalid::CallData => "invalid-call-data",
        Invalid::Message => "invalid-message",
    }
}

impl From<Unexpected> for ApiError {
    fn from(e: Unexpected) -> Self {
        ServiceError::Unexpected(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<ContactError> for ApiError {
    fn from(e: ContactError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
