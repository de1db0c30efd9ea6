//! Checking the key a request presents: that it is one of ours and live, that the browser
//! origin (if any) is one it allows, that it was granted the scope, and that it is within
//! its rate, in that order. Refusals that say nothing about the key (absent, malformed,
//! unknown, revoked) come first and all read the same; a request refused for its origin or
//! scope is not counted against the key's rate, so another site cannot spend an
//! application's budget from its visitors' browsers.

use portcullis_core::api_key::{ApiKeySecret, ApiScope, Origin, origin_allowed};
use portcullis_core::secret::TokenHash;
use portcullis_store::model::ApiKeyRecord;

use super::scopes_of;
use crate::auth::api_key::CallingApp;
use crate::services::error::{ApiKeyRefusal, ServiceError};
use crate::state::AppState;

/// How often a key's last use is written (seconds): a busy key costs one write a minute.
const USE_RESOLUTION_SECS: i64 = 60;

/// Checks a presented key (`None`: no key was sent) for a request from `origin` (the
/// `Origin` header, `None` when absent) that needs `scope` (`None`: any live key will do).
///
/// # Errors
/// [`ServiceError::ApiKey`] with the refusal; [`ServiceError::RateLimited`]; storage failure.
#[tracing::instrument(skip_all, fields(scope = scope.map(ApiScope::as_str)))]
pub async fn check(
    state: &AppState,
    presented: Option<&str>,
    origin: Option<&str>,
    scope: Option<ApiScope>,
) -> Result<CallingApp, ServiceError> {
    let presented = presented.ok_or(ServiceError::ApiKey(ApiKeyRefusal::Missing))?;
    let key = live_key(state, presented).await?;
    let allowed: Vec<Origin> = key
        .origins
        .iter()
        .filter_map(|o| Origin::parse(o).ok())
        .collect();
    // Stored origins are normalised; one that no longer parses must not widen the list to "any".
    if allowed.len() != key.origins.len() || !origin_allowed(&allowed, origin) {
        tracing::info!(api_key.id = %key.id, "API key used from an origin it does not allow");
        return Err(ServiceError::ApiKey(ApiKeyRefusal::Origin));
    }
    let scopes = scopes_of(&key);
    if let Some(scope) = scope
        && !scopes.contains(&scope)
    {
        return Err(ServiceError::ApiKey(ApiKeyRefusal::Scope(scope)));
    }
    let rate = key
        .rate_per_minute
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(state.config.api_keys.default_rate_per_minute);
    state.limits.check_api_key(key.id, rate).await?;
    note_use(state, &key).await;
    Ok(CallingApp {
        id: key.id,
        name: key.name,
        scopes,
    })
}

/// The live key behind `presented`. A malformed key is looked up too (under a hash no key
/// has) and every stored hash is compared in constant time, so a malformed, unknown, revoked
/// or valid key all cost one look-up and one comparison; the first three read the same.
async fn live_key(state: &AppState, presented: &str) -> Result<ApiKeyRecord, ServiceError> {
    let dummy = TokenHash::from_bytes([0; 32]);
    let hash = ApiKeySecret::parse(presented).map(|k| k.hash());
    let found = state
        .store
        .api_keys
        .find_by_hash(hash.as_ref().unwrap_or(&dummy))
        .await?;
    let stored = found.as_ref().map_or(&dummy, |k| &k.key_hash);
    let matches = hash.as_ref().is_some_and(|h| h.ct_eq(stored));
    match found {
        Some(k) if matches && k.revoked_at.is_none() => Ok(k),
        Some(k) if matches => {
            tracing::info!(api_key.id = %k.id, "revoked API key presented");
            Err(ServiceError::ApiKey(ApiKeyRefusal::Invalid))
        }
        _ => {
            tracing::info!("unknown API key presented");
            Err(ServiceError::ApiKey(ApiKeyRefusal::Invalid))
        }
    }
}

/// Records the key's use, at most once a minute. Bookkeeping only: a failed write is logged
/// and the request goes on (the check itself read the database successfully).
async fn note_use(state: &AppState, key: &ApiKeyRecord) {
    let now = state.now();
    let since = now - USE_RESOLUTION_SECS;
    if key.last_used_at.is_some_and(|at| at >= since) {
        return;
    }
    if let Err(e) = state.store.api_keys.record_use(key.id, now, since).await {
        tracing::warn!(api_key.id = %key.id, error = %e, "recording an API key's use failed");
    }
}
