//! `/dualconfirm`: the DualConfirm console of a signed-in advisor or client — on a phone
//! call, each side sees the word to say and the word the other side must say, checks the
//! word it heard, and is alerted when the other side heard a wrong one.
//!
//! The page is server-rendered: the account's pairs (the other party's name, never a word)
//! and a check form carrying the session's CSRF token. Everything live comes from the
//! WebSocket `/v1/dualconfirm/live` ([`crate::routes::dualconfirm_ws`]), which the browser
//! opens from the same origin with the access cookie; the one script that drives it
//! ([`SCRIPT`], no front-end build) renders every server string with `textContent`.
//!
//! The JSON API wants a bearer token, which a page cannot read (the cookies are `HttpOnly`),
//! so the script checks a heard word here, through the session form
//! ([`SessionForm`](crate::web::csrf::SessionForm): our origin and the CSRF token) and the
//! same services as the API (`pairs::own`, then the hub's check). When the socket closes
//! because the access token expired (code 4001), the script asks [`ping`] — like any
//! signed-in request it passes the session middleware, which refreshes the access cookie —
//! and reconnects.
//!
//! The page is rendered in `page`, the check and accept forms are handled in `forms`; this
//! module keeps what both share (the script and the longest word) and the small routes.

mod forms;
mod page;

pub(crate) use forms::{accept, check};
pub(crate) use page::show;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::services::dualconfirm::pairs::{ADVISOR_ROLE, CLIENT_ROLE};
use crate::web::session::PageSession;

/// Where the script is served.
pub(crate) const SCRIPT: &str = "/assets/dualconfirm.js";

const JS: &str = include_str!("dualconfirm.js");

/// Longest heard word accepted (as the API).
const MAX_WORD: usize = 64;

/// `GET /assets/dualconfirm.js`.
pub(crate) async fn script() -> Response {
    let mut response = JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// The link on `/security`, for an account that can take part in DualConfirm.
pub(crate) fn security_link(session: &PageSession) -> &'static str {
    if session.auth.has_role(ADVISOR_ROLE) || session.auth.has_role(CLIENT_ROLE) {
        r#"<p><a href="/dualconfirm" data-test="dualconfirm-link">DualConfirm: confirm who is on a phone call</a></p>"#
    } else {
        ""
    }
}

/// `GET /dualconfirm/ping`: 204 while the page session lives. The session middleware in
/// front of it refreshes an expired access cookie, which is what the console asks it for
/// before reopening the socket.
pub(crate) async fn ping(_session: PageSession) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response()
}
