//! `[cors]`: which browser origins may call the API cross-origin.

use super::error::InvalidValue;
use serde::{Deserialize, Serialize};

/// Cross-origin resource sharing.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser. Strings, not URLs: they are compared
    /// exactly with the `Origin` header, which a URL's normalisation (a trailing `/`) would
    /// never match.
    pub allowed_origins: Vec<String>,
}

impl CorsConfig {
    /// Every origin must be a valid header value.
    ///
    /// # Errors
    /// The first origin that is not.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match self
            .allowed_origins
            .iter()
            .find(|o| o.parse::<axum::http::HeaderValue>().is_err())
        {
            Some(origin) => Err(InvalidValue::new(
                "cors.allowed_origins",
                format!("has a bad origin {origin:?}"),
            )),
            None => Ok(()),
        }
    }
}
