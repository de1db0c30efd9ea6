//! Forged cross-site requests. Cookies go with every request the browser makes, so a form
//! posted by a signed-in person must prove it came from one of our pages:
//!
//! - it carries the session's token, HMAC-SHA256 of the session id under the keyring's index
//!   key (domain `csrf`), compared in constant time: another site can neither read nor
//!   compute it, and it dies with the session;
//! - the browser's `Origin` (when sent) is our public URL's (or a WebAuthn origin of the
//!   relying party, see [`own_origins`]), and `Sec-Fetch-Site` (when sent) is not
//!   `cross-site`.
//!
//! Forms of visitors (sign-up, sign-in) have no session to bind a token to; they get the
//! origin checks, and `SameSite=Strict` keeps the session cookies off other sites' requests.
//! Authorization stays a parameter type: a handler that takes [`SessionForm`] runs only
//! after all three checks passed.

use axum::Form;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::ids::SessionId;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use crate::state::AppState;
use crate::web::layout::{self, Nav};
use crate::web::session::PageSession;

const DOMAIN: &str = "csrf";

/// The CSRF token of `session`.
pub(crate) fn token(state: &AppState, session: SessionId) -> String {
    hex::encode(state.keyring().blind_index(DOMAIN, &session.to_string()))
}

/// Whether `presented` is `session`'s token (constant time in the token's content).
pub(crate) fn token_matches(state: &AppState, session: SessionId, presented: &str) -> bool {
    let expected = token(state, session);
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// `scheme://host[:port]` of a URL, without a default port.
fn origin_of(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let origin = match url[start..].find('/') {
        Some(i) => &url[..start + i],
        None => url,
    };
    let origin = origin.to_ascii_lowercase();
    if let Some(o) = origin.strip_suffix(":443")
        && o.starts_with("https://")
    {
        return o.to_owned();
    }
    if let Some(o) = origin.strip_suffix(":80")
        && o.starts_with("http://")
    {
        return o.to_owned();
    }
    origin
}

/// Whether the browser says the request came from our own pages (or says nothing).
/// `Origin: null` (sent under a `no-referrer` policy) counts as ours only when the fetch
/// metadata says so.
pub(crate) fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if site.is_some_and(|s| s.eq_ignore_ascii_case(b"cross-site")) {
        return false;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(o) if o.as_bytes() == b"null" => site == Some(b"same-origin".as_slice()),
        Some(o) => o.to_str().is_ok_and(|o| {
            own_origins(state)
                .iter()
                .any(|own| o.eq_ignore_ascii_case(own))
        }),
    }
}

/// Our origins: the public URL's and the WebAuthn origins the relying party accepts
/// ([`crate::services::passkeys::relying_party`]): `webauthn.origins` when configured, else,
/// for a public URL on an IP address (development), the same URL on `localhost` — browsers
/// use passkeys only on a domain, so such a site is opened as `http://localhost:PORT`.
fn own_origins(state: &AppState) -> Vec<String> {
    let public = origin_of(&state.public_url);
    let mut out = vec![public.clone()];
    let configured = &state.config.webauthn.origins;
    if configured.is_empty() {
        if let Some(local) = on_localhost(&public) {
            out.push(local);
        }
    } else {
        out.extend(configured.iter().map(|o| origin_of(o.as_str())));
    }
    out
}

/// `origin` with its IP-address host replaced by `localhost`, or `None` for a domain.
fn on_localhost(origin: &str) -> Option<String> {
    let mut url = url::Url::parse(origin).ok()?;
    if !matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
        return None;
    }
    url.set_host(Some("localhost")).ok()?;
    Some(origin_of(url.as_str().trim_end_matches('/')))
}

/// The 403 page of a refused form.
pub(crate) fn refused(nav: &Nav<'_>) -> Response {
    layout::message(
        StatusCode::FORBIDDEN,
        "Request refused",
        nav,
        "This form did not come from this site or has expired. Go back, reload the page and try again.",
    )
}

fn bad_form(nav: &Nav<'_>) -> Response {
    layout::message(
        StatusCode::BAD_REQUEST,
        "Request not understood",
        nav,
        "The form was incomplete. Go back, reload the page and try again.",
    )
}

/// A form posted by a visitor: from our own origin only.
pub(crate) struct VisitorForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for VisitorForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        if !same_origin(state, req.headers()) {
            return Err(refused(&Nav::Visitor));
        }
        match Form::<T>::from_request(req, state).await {
            Ok(Form(fields)) => Ok(VisitorForm(fields)),
            Err(_) => Err(bad_form(&Nav::Visitor)),
        }
    }
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A form without fields of its own (a button).
#[derive(Deserialize)]
pub(crate) struct NoFields {}

/// A form posted by a signed-in person: a live page session, our origin, and the session's
/// CSRF token. Without a session the browser is sent to sign in.
pub(crate) struct SessionForm<T> {
    /// The session that posted it.
    pub session: PageSession,
    /// The form's own fields.
    pub fields: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SessionForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let Some(session) = req.extensions().get::<PageSession>().cloned() else {
            return Err(Redirect::to("/signin").into_response());
        };
        let nav = Nav::SignedIn {
            csrf: &session.csrf,
        };
        if !same_origin(state, req.headers()) {
            return Err(refused(&nav));
        }
        let form = match Form::<WithCsrf<T>>::from_request(req, state).await {
            Ok(Form(form)) => form,
            Err(_) => return Err(bad_form(&nav)),
        };
        if !token_matches(state, session.auth.session, &form.csrf) {
            tracing::warn!(session = %session.auth.session, "form refused: CSRF token missing or wrong");
            return Err(refused(&nav));
        }
        Ok(SessionForm {
            session,
            fields: form.fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_paths_and_default_ports() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            origin_of("https://Auth.Example.com/p/q"),
            "https://auth.example.com"
        );
        assert_eq!(
            origin_of("https://auth.example.com:443"),
            "https://auth.example.com"
        );
        assert_eq!(origin_of("http://example.com:80/"), "http://example.com");
        assert_eq!(
            origin_of("http://example.com:443"),
            "http://example.com:443"
        );
    }

    #[test]
    fn an_ip_address_site_is_also_its_localhost_origin() {
        assert_eq!(
            on_localhost("http://127.0.0.1:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(
            on_localhost("http://[::1]:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(on_localhost("https://auth.example.com"), None);
    }
}
