//! Why a token was refused: one variant per reason, so callers, logs and tests can tell them
//! apart. No variant carries token text or key material, so every one is safe to log.

/// Why a bearer token was refused, or why the guard could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
