//! `[metrics]`: who may read `/metrics`.

use super::secret::Secret;
use serde::{Deserialize, Serialize};

/// Access to the Prometheus endpoint.
///
/// Open by default, for scrapers on a private network; with `bearer_token` set (also from
/// `PORTCULLIS_METRICS__BEARER_TOKEN`), a scrape must send `Authorization: Bearer <token>`
/// (Prometheus: `authorization: { credentials: … }`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// The token a scrape must present; none means open.
    pub bearer_token: Option<Secret>,
}
