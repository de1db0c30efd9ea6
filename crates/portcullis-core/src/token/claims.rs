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
    /// Confirmation (RFC 7800): for a sender-constrained token, the RFC 7638 thumbprint of
    /// the key whose DPoP proofs (RFC 9449) must come with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim of a DPoP-bound token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The session key's JWK SHA-256 thumbprint, base64url.
    pub jkt: String,
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

impl Expectation<'_> {
    /// Checks issuer, audience and validity window (see [`AccessClaims::check_window`]), in
    /// that order: the claim checks every verifier of ours makes behind a good signature.
    ///
    /// # Errors
    /// [`TokenError::WrongIssuer`], [`TokenError::WrongAudience`], [`TokenError::Expired`] or
    /// [`TokenError::NotYetValid`]: the first check that failed.
    pub fn check(&self, claims: &AccessClaims, now: i64) -> Result<(), TokenError> {
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        claims.check_window(self.leeway_secs, now)
    }
}

impl AccessClaims {
    /// Checks the validity window alone: the token is live while
    /// `nbf - leeway <= now < exp + leeway` (RFC 7519 §4.1.4, §4.1.5; a negative leeway
    /// counts as zero). This is what a verifier that cached the claims of a verified token
    /// re-checks on each use.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::NotYetValid`].
    pub fn check_window(&self, leeway_secs: i64, now: i64) -> Result<(), TokenError> {
        let leeway = leeway_secs.max(0);
        if now >= self.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if now < self.nbf.saturating_sub(leeway) {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://auth.example".to_owned(),
            sub: "acct_1".to_owned(),
            aud: "https://api.example".to_owned(),
            exp: NOW + 300,
            iat: NOW,
            nbf: NOW,
            jti: "tok_1".to_owned(),
            sid: "sess_1".to_owned(),
            acr: "aal1".to_owned(),
            amr: vec![],
            roles: vec![],
            auth_time: NOW,
            scope: None,
            cnf: None,
        }
    }

    #[test]
    fn issuer_then_audience_then_window() {
        let expect = Expectation {
            issuer: "https://auth.example",
            audience: "https://api.example",
            leeway_secs: 30,
        };
        assert_eq!(expect.check(&claims(), NOW), Ok(()));
        let both = AccessClaims {
            iss: "https://evil.example".to_owned(),
            aud: "https://other.example".to_owned(),
            exp: NOW - 100,
            ..claims()
        };
        assert_eq!(expect.check(&both, NOW), Err(TokenError::WrongIssuer));
        let aud = AccessClaims {
            iss: claims().iss,
            ..both
        };
        assert_eq!(expect.check(&aud, NOW), Err(TokenError::WrongAudience));
        let expired = AccessClaims {
            aud: claims().aud,
            ..aud
        };
        assert_eq!(expect.check(&expired, NOW), Err(TokenError::Expired));
    }

    #[test]
    fn the_window_has_a_leeway_on_both_ends() {
        let c = claims();
        assert_eq!(c.check_window(30, NOW + 329), Ok(()));
        assert_eq!(c.check_window(30, NOW + 330), Err(TokenError::Expired));
        assert_eq!(c.check_window(30, NOW - 30), Ok(()));
        assert_eq!(c.check_window(30, NOW - 31), Err(TokenError::NotYetValid));
        // A negative leeway counts as zero.
        assert_eq!(c.check_window(-10, NOW + 299), Ok(()));
        assert_eq!(c.check_window(-10, NOW + 300), Err(TokenError::Expired));
        let extreme = AccessClaims {
            exp: i64::MAX,
            nbf: i64::MIN,
            ..c
        };
        assert_eq!(extreme.check_window(i64::MAX, NOW), Ok(()));
    }
}
