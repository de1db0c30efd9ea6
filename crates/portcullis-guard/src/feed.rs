//! Following Portcullis's revocation feed (`GET /v1/revocations`), so a session revoked at
//! Portcullis is refused here within one polling interval, cached tokens included.

use serde::Deserialize;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::guard::Guard;

#[derive(Deserialize)]
struct Page {
    revoked: Vec<Entry>,
    next_since: i64,
}

#[derive(Deserialize)]
struct Entry {
    sid: String,
}

/// How far back the first poll reads: longer than any access token lives.
const FIRST_LOOKBACK_SECS: i64 = 3600;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Guard {
    /// Polls `feed_url` (Portcullis's `/v1/revocations`) every `interval` with `bearer` (a
    /// token of a service or admin session) and revokes every session it lists. Failures
    /// are logged and retried at the next tick; the task runs until it is aborted.
    pub fn spawn_revocation_feed(
        &self,
        feed_url: impl Into<String>,
        bearer: impl Into<String>,
        interval: Duration,
    ) -> JoinHandle<()> {
        let guard = self.clone();
        let url = feed_url.into();
        let bearer = bearer.into();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut since = unix_now() - FIRST_LOOKBACK_SECS;
            loop {
                match poll(&client, &url, &bearer, since).await {
                    Ok(page) => {
                        for entry in &page.revoked {
                            guard.revoke_session(&entry.sid);
                        }
                        since = page.next_since.max(since);
                    }
                    Err(e) => tracing::warn!(error = %e, "revocation feed poll failed"),
                }
                tokio::time::sleep(interval).await;
            }
        })
    }
}

async fn poll(
    client: &reqwest::Client,
    url: &str,
    bearer: &str,
    since: i64,
) -> Result<Page, String> {
    let response = client
        .get(url)
        .query(&[("since", since)])
        .bearer_auth(bearer)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("the feed answered {}", response.status()));
    }
    response
        .json::<Page>()
        .await
        .map_err(|e| e.without_url().to_string())
}
