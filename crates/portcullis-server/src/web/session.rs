//! The page session: who is signed in, found from the cookies by a middleware in front of
//! the pages that need it, and handed to handlers as the [`PageSession`] parameter.
//!
//! The access token is checked exactly as the API checks a bearer token
//! ([`authenticate`]: signature, issuer, audience, lifetime, live session). When it has
//! expired (or its cookie is gone) and the refresh token is still good, the middleware spends
//! the refresh token ([`sessions::refresh`], which rotates it and detects reuse) and sets both
//! cookies anew on the response, so a person is not sent back to the sign-in page every ten
//! minutes. Cookies that name no live session are cleared.
//!
//! Refresh tokens are single use: two requests racing with the same expired access token
//! would look like reuse and end the session. The pages make one request at a time (the
//! stylesheet is outside this middleware, and the DualConfirm console queues its own
//! requests), so only a double-submitted form, or two console tabs, after expiry can hit
//! that, and it signs the person out rather than letting anyone in.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{AuthSession, authenticate, authenticate_with_leeway};
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::sessions::{self, TokenResponse};
use crate::state::AppState;
use crate::web::cookies::{self, Cookies};
use crate::web::csrf;
use crate::web::layout::{self, Nav};

/// A signed-in person on a page: the verified session and its CSRF token for the forms.
#[derive(Clone, Debug)]
pub(crate) struct PageSession {
    /// The verified access token of a live session.
    pub auth: AuthSession,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl PageSession {
    fn new(state: &AppState, auth: AuthSession) -> Self {
        let csrf = csrf::token(state, auth.session);
        Self { auth, csrf }
    }

    /// The header navigation for this session.
    pub(crate) fn nav(&self) -> Nav<'_> {
        Nav::SignedIn { csrf: &self.csrf }
    }
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        parts
            .extensions
            .get::<PageSession>()
            .cloned()
            .ok_or_else(|| Redirect::to("/signin").into_response())
    }
}

enum Found {
    Valid(AuthSession),
    Refreshed(AuthSession, TokenResponse),
    Nothing,
}

/// Middleware: resolves the cookies into a [`PageSession`] request extension.
pub(crate) async fn resolve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let names = Cookies::of(&state);
    let access = cookies::read(req.headers(), names.access());
    let refresh = cookies::read(req.headers(), names.refresh());
    if access.is_none() && refresh.is_none() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let client = ClientInfo::from_request_parts(&mut parts, &state)
        .await
        .unwrap_or_default();
    let mut req = Request::from_parts(parts, body);
    let found = match find(&state, access.as_deref(), refresh.as_deref(), &client).await {
        Ok(found) => found,
        Err(e) => return failure(&e),
    };
    let refreshed = match found {
        Found::Valid(auth) => {
            req.extensions_mut().insert(PageSession::new(&state, auth));
            None
        }
        Found::Refreshed(auth, tokens) => {
            req.extensions_mut().insert(PageSession::new(&state, auth));
            Some(tokens)
        }
        Found::Nothing => None,
    };
    let stale = refreshed.is_none() && !has_session(&req);
    let mut response = next.run(req).await;
    // A cookie the handler set itself (signing out, a step-up's access token) has the last
    // word; the refresh token rotated here must still reach the browser, or its next
    // refresh would look like reuse.
    let set_by_handler = cookies::names_set(response.headers());
    if let Some(tokens) = refreshed {
        for (name, value) in names.for_tokens(&state, &tokens) {
            if !set_by_handler.iter().any(|n| n == name) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
    } else if stale && set_by_handler.is_empty() {
        names.clear(response.headers_mut());
    }
    response
}

fn has_session(req: &Request) -> bool {
    req.extensions().get::<PageSession>().is_some()
}

async fn find(
    state: &AppState,
    access: Option<&str>,
    refresh: Option<&str>,
    client: &ClientInfo,
) -> Result<Found, ServiceError> {
    if let Some(token) = access {
        // No clock-skew leeway: this node issued the token and holds the refresh token, so it
        // renews at expiry. With the API's leeway it would keep serving an expired token for
        // another half minute while the browser, whose cookie expires with the token, stops
        // sending it: the DualConfirm console, reopening its socket in between, was refused.
        match authenticate_with_leeway(state, token, 0).await {
            Ok(auth) => return Ok(Found::Valid(auth)),
            Err(ServiceError::Unauthenticated(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(refresh) = refresh else {
        return Ok(Found::Nothing);
    };
    let tokens = match sessions::refresh(state, refresh, None, client).await {
        Ok(tokens) => tokens,
        Err(ServiceError::Unauthenticated(_)) => return Ok(Found::Nothing),
        Err(e) => return Err(e),
    };
    match authenticate(state, &tokens.access_token).await {
        Ok(auth) => Ok(Found::Refreshed(auth, tokens)),
        Err(ServiceError::Unauthenticated(_)) => Ok(Found::Nothing),
        Err(e) => Err(e),
    }
}

fn failure(e: &ServiceError) -> Response {
    layout::message(
        layout::status_of(e),
        "Something went wrong",
        &Nav::Visitor,
        &layout::error_text(e),
    )
}
