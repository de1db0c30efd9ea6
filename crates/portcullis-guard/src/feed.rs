//! Following Portcullis's revocation feed (`GET /v1/revocations`), so a session revoked at
//! Portcullis is refused here within one polling interval, cached tokens included.
//!
//! The feed is read with an access token of Portcullis. A service reads it as a service
//! account ([`FeedAuth::client_credentials`]): the feed obtains its token with the OAuth 2.0
//! client-credentials grant and renews it before it expires (and at once when the feed
//! answers 401), so it keeps working for as long as the service runs. A fixed token
//! ([`FeedAuth::bearer`]) stops working when that token expires.
//!
//! The feed goes through the guard's HTTP client, bounds each request by
//! [`crate::GuardConfig::http_timeout`], and reads time from the guard's clock: where its first
//! poll starts reading and when its token is due for renewal are judged by the same `now` as
//! the tokens it verifies.

use serde::Deserialize;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::guard::Guard;

/// The scope a service account needs to read the feed.
pub const REVOCATIONS_SCOPE: &str = "portcullis:revocations";

/// How the feed authenticates to Portcullis: [`FeedAuth::bearer`] or
/// [`FeedAuth::client_credentials`] (a `String` or `&str` converts into a bearer token).
///
/// Its `Debug` output leaves out the token and the client secret.
#[derive(Clone)]
pub struct FeedAuth(Auth);

#[derive(Clone)]
enum Auth {
    Bearer(String),
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
    },
}

impl FeedAuth {
    /// A fixed access token (an administrator's or service session's). It is not renewed:
    /// once it expires, every poll fails.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self(Auth::Bearer(token.into()))
    }

    /// A service account with the scope [`REVOCATIONS_SCOPE`]: tokens come from `token_url`
    /// (Portcullis's `…/v1/oauth/token`) for `client_id` and `client_secret`, and are renewed
    /// when half their lifetime has passed.
    pub fn client_credentials(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self(Auth::ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }
}

impl From<String> for FeedAuth {
    fn from(token: String) -> Self {
        Self::bearer(token)
    }
}

impl From<&str> for FeedAuth {
    fn from(token: &str) -> Self {
        Self::bearer(token)
    }
}

impl std::fmt::Debug for FeedAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::ClientCredentials {
                token_url,
                client_id,
                ..
            } => f
                .debug_struct("ClientCredentials")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct Page {
    revoked: Vec<Entry>,
    next_since: i64,
}

#[derive(Deserialize)]
struct Entry {
    sid: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// How far back the first poll reads: longer than any access token lives.
const FIRST_LOOKBACK_SECS: i64 = 3600;

/// Why a poll failed.
#[derive(Debug)]
enum PollError {
    /// The feed refused our token (expired, revoked, or lacking the scope).
    Unauthorized(String),
    Other(String),
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::Unauthorized(m) | PollError::Other(m) => f.write_str(m),
        }
    }
}

/// What every request of the feed goes through: the guard's client, the configured timeout
/// and the guard's clock.
struct Portcullis {
    guard: Guard,
    client: reqwest::Client,
    timeout: Duration,
}

/// The token the feed presents, renewed as needed.
struct Credentials {
    auth: Auth,
    /// The current token and when to renew it, unix seconds by the guard's clock (client
    /// credentials only).
    current: Option<(String, i64)>,
}

impl Credentials {
    /// The token to present, fetching a new one when there is none or it is due.
    async fn token(&mut self, via: &Portcullis) -> Result<String, String> {
        let (token_url, client_id, client_secret) = match &self.auth {
            Auth::Bearer(token) => return Ok(token.clone()),
            Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
            } => (token_url, client_id, client_secret),
        };
        if let Some((token, renew_at)) = &self.current
            && via.guard.now() < *renew_at
        {
            return Ok(token.clone());
        }
        let response = via
            .client
            .post(token_url)
            .basic_auth(client_id, Some(client_secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", REVOCATIONS_SCOPE),
            ])
            .timeout(via.timeout)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("the token endpoint answered {}", response.status()));
        }
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let half_life = i64::try_from(answer.expires_in / 2).unwrap_or(i64::MAX);
        let renew_at = via.guard.now().saturating_add(half_life);
        self.current = Some((answer.access_token.clone(), renew_at));
        Ok(answer.access_token)
    }

    /// Forgets the current token, so the next poll fetches a new one.
    fn discard(&mut self) {
        self.current = None;
    }
}

impl Guard {
    /// Polls `feed_url` (Portcullis's `/v1/revocations`) every `interval`, authenticated as
    /// `auth`, and revokes every session it lists. Failures are logged and retried at the
    /// next tick; the task runs until it is aborted.
    ///
    /// `auth` is a [`FeedAuth`]; a `String` is taken as a fixed bearer token. Each request
    /// goes through this guard's HTTP client and gives up after
    /// [`crate::GuardConfig::http_timeout`]; time is this guard's clock.
    pub fn spawn_revocation_feed(
        &self,
        feed_url: impl Into<String>,
        auth: impl Into<FeedAuth>,
        interval: Duration,
    ) -> JoinHandle<()> {
        let via = Portcullis {
            guard: self.clone(),
            client: self.client().clone(),
            timeout: self.config().http_timeout(),
        };
        let url = feed_url.into();
        let mut credentials = Credentials {
            auth: auth.into().0,
            current: None,
        };
        tokio::spawn(async move {
            let mut since = via.guard.now().saturating_sub(FIRST_LOOKBACK_SECS);
            loop {
                match poll(&via, &url, &mut credentials, since).await {
                    Ok(page) => {
                        for entry in &page.revoked {
                            via.guard.revoke_session(&entry.sid);
                        }
                        since = page.next_since.max(since);
                    }
                    Err(PollError::Unauthorized(e)) => {
                        credentials.discard();
                        tracing::warn!(error = %e, "revocation feed refused our token");
                    }
                    Err(e) => tracing::warn!(error = %e, "revocation feed poll failed"),
                }
                tokio::time::sleep(interval).await;
            }
        })
    }
}

async fn poll(
    via: &Portcullis,
    url: &str,
    credentials: &mut Credentials,
    since: i64,
) -> Result<Page, PollError> {
    let token = credentials.token(via).await.map_err(PollError::Other)?;
    let response = via
        .client
        .get(url)
        .query(&[("since", since)])
        .bearer_auth(token)
        .timeout(via.timeout)
        .send()
        .await
        .map_err(|e| PollError::Other(e.without_url().to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(PollError::Unauthorized(format!(
            "the feed answered {status}"
        )));
    }
    if !status.is_success() {
        return Err(PollError::Other(format!("the feed answered {status}")));
    }
    response
        .json::<Page>()
        .await
        .map_err(|e| PollError::Other(e.without_url().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_has_no_secret_or_token() {
        let auth = FeedAuth::client_credentials(
            "https://auth.example/v1/oauth/token",
            "ledger",
            "s3cr3t-value",
        );
        let text = format!("{auth:?}");
        assert!(
            text.contains("ledger") && !text.contains("s3cr3t-value"),
            "{text}"
        );
        let text = format!("{:?}", FeedAuth::from("tok.en.value"));
        assert!(!text.contains("tok.en.value"), "{text}");
    }
}
