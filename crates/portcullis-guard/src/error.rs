//! Why a token was refused: one variant per reason, so callers, logs and tests can tell them
//! apart. No variant carries token text or key material, so every one is safe to log.
//!
//! The reasons a token itself is refused are decided by core's token checks
//! ([`portcullis_core::token::Header::parse`], [`portcullis_core::token::verify_with_key`]),
//! which both verifiers share; this enum names them one for one and adds the guard's own
//! (revocation, and failures of ours).

use portcullis_core::token::TokenError;

/// Why a bearer token was refused, or why the guard could not decide.
///
/// New reasons may be added, so a `match` needs a wildcard arm;
/// [`GuardError::is_unavailable`] is what tells a 503 from a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// Longer than [`crate::MAX_TOKEN_BYTES`]; refused before any decoding.
    #[error("token is too large")]
    Oversized,
    /// Not a compact JWS with a readable header and claims of ours.
    #[error("token is malformed")]
    Malformed,
    /// The header says `alg: none`: an unsigned token.
    #[error("unsigned tokens (alg none) are refused")]
    AlgNone,
    /// The header names an algorithm other than `EdDSA` (HMAC, RSA, ECDSA …).
    #[error("token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The `typ` header is not `at+jwt` (RFC 9068), or a `crit` header is present.
    #[error("token is not an access token")]
    WrongType,
    /// No `kid`, or a `kid` that is not in the key set even after a refresh.
    #[error("token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not match the key named by `kid`.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` has passed, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is still ahead, beyond the leeway.
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` is not this service.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// The token's session (`sid`) has been revoked.
    #[error("token session has been revoked")]
    Revoked,
    /// No key set could be fetched, so no token can be checked at all.
    #[error("signing keys are unavailable: {0}")]
    JwksUnavailable(String),
    /// The guard could not be built (e.g. the HTTP client).
    #[error("invalid guard configuration: {0}")]
    Config(String),
}

impl GuardError {
    /// True when the failure is ours (keys unreachable, bad configuration) rather than the
    /// token's: such a request should be answered 503, not 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::JwksUnavailable(_) | Self::Config(_))
    }
}

impl From<TokenError> for GuardError {
    /// Core's reason for refusing a token, one for one. Core's signing and key-file errors
    /// never come out of verification; should one, the token is called malformed.
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Oversized => Self::Oversized,
            TokenError::AlgNone => Self::AlgNone,
            TokenError::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
            TokenError::WrongType => Self::WrongType,
            TokenError::UnknownKey => Self::UnknownKey,
            TokenError::BadSignature => Self::BadSignature,
            TokenError::Expired => Self::Expired,
            TokenError::NotYetValid => Self::NotYetValid,
            TokenError::WrongIssuer => Self::WrongIssuer,
            TokenError::WrongAudience => Self::WrongAudience,
            TokenError::Malformed | TokenError::Signing(_) | TokenError::InvalidKeyFile(_) => {
                Self::Malformed
            }
        }
    }
}

#[cfg(test)]
mod tests;
