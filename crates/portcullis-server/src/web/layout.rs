//! The frame every page shares: the document shell with its header and navigation, HTML
//! escaping, and the stylesheet the binary serves itself (no third-party assets). The CSP
//! allows only same-origin scripts; a page loads the passkey script only when it has a
//! passkey form (`data-passkey`), the pattern pad's only when it has a pad
//! (`data-pattern-pad`) (the DualConfirm console adds its own script tag in its body), and
//! no page has inline script.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;

/// Where the stylesheet is served.
pub(crate) const STYLESHEET: &str = "/assets/portcullis.css";

const CSS: &str = include_str!("../../assets/portcullis.css");

/// `GET /assets/portcullis.css`.
pub(crate) async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// Escapes text for HTML content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the header offers: links for a visitor, or the account's links and a sign-out
/// button (a form, so it carries the CSRF token) for a signed-in person.
pub(crate) enum Nav<'a> {
    /// Not signed in.
    Visitor,
    /// Signed in; the session's CSRF token.
    SignedIn { csrf: &'a str },
}

fn nav_html(nav: &Nav<'_>) -> String {
    match nav {
        Nav::Visitor => r#"<nav aria-label="Account"><a href="/signin">Sign in</a> <a href="/signup">Create account</a></nav>"#.to_owned(),
        Nav::SignedIn { csrf } => format!(
            r#"<nav aria-label="Account"><a href="/security">Security</a>
<form method="post" action="/signout">{}<button type="submit" class="secondary inline">Sign out</button></form></nav>"#,
            csrf_field(csrf)
        ),
    }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(token)
    )
}

/// A script the binary serves (same origin, as the CSP wants), cached for an hour.
pub(crate) fn script_response(js: &'static str) -> Response {
    let mut response = js.into_response();
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

/// The script tags `body` needs: each script is loaded only by a page with its forms.
fn scripts(body: &str) -> String {
    [
        ("data-passkey", crate::web::passkeys::SCRIPT),
        ("data-pattern-pad", crate::web::pattern::SCRIPT),
        ("data-wallet", crate::web::wallet::SCRIPT),
    ]
    .iter()
    .filter(|(marker, _)| body.contains(marker))
    .map(|(_, src)| format!("<script src=\"{src}\" defer></script>\n"))
    .collect()
}

/// A whole HTML page with `body` (already HTML) under an `<h1>` of `title`.
pub(crate) fn page(status: StatusCode, title: &str, nav: &Nav<'_>, body: &str) -> Response {
    let html = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Portcullis</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STYLESHEET}">
{script}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><a class="brand" href="/security">Portcullis</a>
{nav}
</header>
<main id="main">
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"##,
        title = escape(title),
        nav = nav_html(nav),
        script = scripts(body),
    );
    let mut response = (status, Html(html)).into_response();
    // The server's `no-referrer` would make the browser send `Origin: null` with our own
    // forms; `same-origin` still sends nothing to other sites.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A page that says one thing, e.g. a refusal.
pub(crate) fn message(status: StatusCode, title: &str, nav: &Nav<'_>, text: &str) -> Response {
    page(status, title, nav, &format!("<p>{}</p>", escape(text)))
}

/// An alert paragraph (announced by screen readers), or nothing.
pub(crate) fn alert(text: Option<&str>) -> String {
    text.map(|t| format!(r#"<p class="alert" role="alert">{}</p>"#, escape(t)))
        .unwrap_or_default()
}

/// A notice paragraph (announced politely), or nothing.
pub(crate) fn notice(text: Option<&str>) -> String {
    text.map(|t| format!(r#"<p class="notice" role="status">{}</p>"#, escape(t)))
        .unwrap_or_default()
}

pub(crate) use super::failure::{error_text, status_of};

/// A Unix time as text, in UTC (`2026-11-23 17:44 UTC`).
pub(crate) fn plain_time(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| "—".to_owned())
}

/// A Unix time as `<time>`, in UTC.
pub(crate) fn when(ts: i64) -> String {
    let machine = OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default();
    format!(r#"<time datetime="{machine}">{}</time>"#, plain_time(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(
            when(0),
            r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00 UTC</time>"#
        );
    }
}
