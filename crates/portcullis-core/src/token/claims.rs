//! The claims of an access token and the checks a verifier makes on them against `now`.

use serde::{Deserialize, Serialize};

use super::TokenError;

/// Claims of an access token (RFC 9068 profile, plus our session and role claims).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: our public base URL.
    pub iss: String,
    /// Subject: the account id.
    pub sub: String,
    /// Audience: the resource server the token is meant for.
    pub aud: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// Id of the session the token was issued from.
    pub sid: String,
    /// Authentication context class reached by the session.
    pub acr: String,
    /// Authentication methods used (RFC 8176 values).
    pub amr: Vec<String>,
    /// Roles granted to the subject.
    pub roles: Vec<String>,
    /// When the user last authenticated, unix seconds.
    pub auth_time: i64,
    /// Space-separated OAuth scopes granted to a service account (client-credentials tokens
    /// only; user tokens carry roles instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a verifier requires of a token beyond a good signature.
#[derive(Clone, Copy, Debug)]
pub struct Expectation<'a> {
    /// The only accepted `iss`.
    pub issuer: &'a str,
    /// The only accepted `aud`.
    pub audience: &'a str,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (negative counts as zero).
    pub leeway_secs: i64,
}

/// Checks issuer, audience and validity window. A token is live while
/// `nbf - leeway <= now < exp + leeway` (RFC 7519 §4.1.4, §4.1.5).
pub(super) fn check(
    claims: &AccessClaims,
    expect: &Expectation<'_>,
    now: i64,
) -> Result<(), TokenError> {
    if claims.iss != expect.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != expect.audience {
        return Err(TokenError::WrongAudience);
    }
    let leeway = expect.leeway_secs.max(0);
    if now >= claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if now < claims.nbf.saturating_sub(leeway) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}
