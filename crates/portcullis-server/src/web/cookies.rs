//! The page session's two cookies: the access token and the refresh token of an ordinary
//! session, so the pages run on the same tokens and checks as the API.
//!
//! Both are `HttpOnly` (no script reads them), `SameSite=Strict` (no other site's page sends
//! them) and `Path=/`. When the public URL is HTTPS they are `Secure` and carry the
//! `__Host-` prefix, which browsers accept only for such cookies without a `Domain`; on plain
//! HTTP (development) they go without it, since a browser would drop a `__Host-` cookie there.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::config::DurationExt as _;
use crate::services::sessions::TokenResponse;
use crate::state::AppState;

/// Name of the cookie of a login waiting for enrolment ([`Cookies::enrolment`]).
pub(crate) const ENROLMENT: &str = "portcullis_enrol";

/// The cookie names and attributes in effect for this server.
pub(crate) struct Cookies {
    secure: bool,
}

impl Cookies {
    /// Chooses names and attributes from the public URL.
    pub(crate) fn of(state: &AppState) -> Self {
        Self {
            secure: state.public_url.starts_with("https://"),
        }
    }

    /// Name of the access-token cookie.
    pub(crate) fn access(&self) -> &'static str {
        if self.secure {
            "__Host-portcullis_at"
        } else {
            "portcullis_at"
        }
    }

    /// Name of the refresh-token cookie.
    pub(crate) fn refresh(&self) -> &'static str {
        if self.secure {
            "__Host-portcullis_rt"
        } else {
            "portcullis_rt"
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok()
    }

    /// The cookies of freshly issued tokens, by name. A response without a refresh token
    /// (after a step-up) replaces only the access token.
    pub(crate) fn for_tokens(
        &self,
        state: &AppState,
        t: &TokenResponse,
    ) -> Vec<(&'static str, HeaderValue)> {
        let mut out = Vec::new();
        if let Some(v) = self.cookie(self.access(), &t.access_token, t.expires_in.max(1)) {
            out.push((self.access(), v));
        }
        if let Some(refresh) = &t.refresh_token {
            let tokens = &state.config.tokens;
            let max_age = tokens
                .refresh_ttl
                .min(tokens.session_absolute)
                .as_secs_i64();
            if let Some(v) = self.cookie(self.refresh(), refresh, max_age) {
                out.push((self.refresh(), v));
            }
        }
        out
    }

    /// Sets the cookies of freshly issued tokens.
    pub(crate) fn set_tokens(&self, headers: &mut HeaderMap, state: &AppState, t: &TokenResponse) {
        for (_, v) in self.for_tokens(state, t) {
            headers.append(header::SET_COOKIE, v);
        }
    }

    /// The cookie of a login waiting for enrolment (`<challenge id>.<restricted token>`):
    /// sent only to `/signin/enrol`, for as long as the login lives. `None` removes it.
    pub(crate) fn enrolment(&self, value: Option<(&str, i64)>) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let (value, max_age) = value.unwrap_or(("", 0));
        HeaderValue::from_str(&format!(
            "{ENROLMENT}={value}; Path=/signin/enrol; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok()
    }

    /// Removes both cookies.
    pub(crate) fn clear(&self, headers: &mut HeaderMap) {
        for name in [self.access(), self.refresh()] {
            if let Some(v) = self.cookie(name, "", 0) {
                headers.append(header::SET_COOKIE, v);
            }
        }
    }
}

/// Names of the cookies a response sets.
pub(crate) fn names_set(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .collect()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failure is a test failure")]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; portcullis_at=x.y.z"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("portcullis_rt=abc"),
        );
        assert_eq!(read(&h, "portcullis_at").as_deref(), Some("x.y.z"));
        assert_eq!(read(&h, "portcullis_rt").as_deref(), Some("abc"));
        assert_eq!(read(&h, "portcullis"), None);
        assert_eq!(read(&h, "a").as_deref(), Some("1"));
    }

    #[test]
    fn attributes_depend_on_the_scheme() {
        let plain = Cookies { secure: false };
        let v = plain.cookie(plain.access(), "t", 60).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "portcullis_at=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        let tls = Cookies { secure: true };
        let v = tls.cookie(tls.refresh(), "t", 60).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-portcullis_rt=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
    }
}
