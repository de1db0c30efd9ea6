//! The application behind a request: its API key (`X-API-Key`), checked for the scope an
//! endpoint needs, the browser origin and the key's rate. What the custodial-wallet
//! handlers call beside the user's session extractor: both must pass.

use axum::http::{HeaderMap, HeaderName, header};
use portcullis_core::api_key::ApiScope;
use portcullis_core::ids::ApiKeyId;

use crate::error::ApiError;
use crate::services::api_keys;
use crate::state::AppState;

/// The header a front-end application sends its key in.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// A front-end application whose key was accepted for this request. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingApp {
    /// The key's id.
    pub id: ApiKeyId,
    /// The application's name, as its key was made.
    pub name: String,
    /// Every scope the key was granted.
    pub scopes: Vec<ApiScope>,
}

/// Checks `X-API-Key`: present, live, granted `scope`, used from an origin it allows (a
/// request without `Origin` is not a browser's and is let through), within its rate.
///
/// # Errors
/// 401 `api-key-required` / `api-key-invalid`, 403 `api-key-scope` / `api-key-origin`,
/// 429 `rate-limited` with `Retry-After`; storage failure.
pub async fn require_app(
    state: &AppState,
    headers: &HeaderMap,
    scope: ApiScope,
) -> Result<CallingApp, ApiError> {
    check(state, headers, Some(scope)).await
}

/// As [`require_app`] for an endpoint any live key may call (`GET /v1/api-keys/current`).
///
/// # Errors
/// As [`require_app`], without the scope refusal.
pub async fn identify_app(state: &AppState, headers: &HeaderMap) -> Result<CallingApp, ApiError> {
    check(state, headers, None).await
}

async fn check(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<ApiScope>,
) -> Result<CallingApp, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or_default());
    Ok(api_keys::check(state, presented_key(headers), origin, scope).await?)
}

/// The key as sent: `None` when absent or blank. A value that is not text, or two values,
/// come out as the empty string, which no key matches: refused as invalid, not as missing.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(&API_KEY_HEADER).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some("");
    }
    match first.to_str() {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(text.trim()),
        Err(_) => Some(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_key_is_read_from_one_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert(&API_KEY_HEADER, HeaderValue::from_static("  "));
        assert_eq!(presented_key(&h), None);
        h.insert(&API_KEY_HEADER, HeaderValue::from_static(" pk_live_x "));
        assert_eq!(presented_key(&h), Some("pk_live_x"));
        h.append(&API_KEY_HEADER, HeaderValue::from_static("pk_live_y"));
        assert_eq!(presented_key(&h), Some(""), "two keys are no key");
        let mut h = HeaderMap::new();
        h.insert(
            &API_KEY_HEADER,
            HeaderValue::from_bytes(b"pk_live_\xff").unwrap_or(HeaderValue::from_static("x")),
        );
        assert_eq!(presented_key(&h), Some(""));
    }
}
