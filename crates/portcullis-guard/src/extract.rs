//! [`Verified`]: the claims of a token the guard accepted, as an axum extractor.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::token::AccessClaims;

use crate::Rejection;

/// The claims of an accepted access token.
///
/// [`crate::GuardLayer`] puts one in the request extensions; a handler behind the layer takes
/// it as an argument. Used on a route without the layer, it refuses the request with 401, so
/// a forgotten layer fails closed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified(Arc<AccessClaims>);

impl Verified {
    pub(crate) fn new(claims: Arc<AccessClaims>) -> Self {
        Self(claims)
    }

    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.0
    }

    /// Whether the token holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.0.roles.iter().any(|r| r == role)
    }
}

impl Deref for Verified {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            tracing::error!("`Verified` used on a route without a GuardLayer");
            Rejection::MissingToken
        })
    }
}
