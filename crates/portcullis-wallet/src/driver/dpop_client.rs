//! Requests signed with the session key (RFC 9449): each gets a fresh proof over its method,
//! URI (no query), time and the server's latest nonce; a `use_dpop_nonce` answer is retried
//! once with the nonce it brought.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use portcullis_core::token::dpop::{ProofClaims, SessionSigner, ath};
use reqwest::{Method, Response};

/// An HTTP client that signs every request with the session key.
pub struct DpopClient {
    http: reqwest::Client,
    key: SessionSigner,
    /// The server's latest `DPoP-Nonce`.
    pub nonce: Option<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn jti() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// The URI a proof names: the URL without query and fragment.
fn htu(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

impl DpopClient {
    /// A client signing with `key`, starting from a known `nonce`.
    pub fn new(key: SessionSigner, nonce: Option<String>) -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().build().context("HTTP client")?,
            key,
            nonce,
        })
    }

    /// A proof for `method` on `url`, for `token` when the request carries one.
    pub fn proof(&self, method: &Method, url: &str, token: Option<&str>) -> Result<String> {
        Ok(self.key.proof(&ProofClaims {
            jti: jti()?,
            htm: method.as_str().to_owned(),
            htu: htu(url).to_owned(),
            iat: now(),
            nonce: self.nonce.clone(),
            ath: token.map(ath),
        }))
    }

    /// Sends `method url` with `token` as `Authorization: DPoP` (when given) and a proof,
    /// with `body` as JSON when given.
    ///
    /// # Errors
    /// The request could not be sent.
    pub async fn send(
        &mut self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Response> {
        let mut retried = false;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url)
                .header("dpop", self.proof(&method, url, token)?);
            if let Some(token) = token {
                request = request.header("authorization", format!("DPoP {token}"));
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .with_context(|| format!("{method} {url}"))?;
            if let Some(nonce) = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
            {
                self.nonce = Some(nonce.to_owned());
            }
            let wants_nonce = response.status() == reqwest::StatusCode::UNAUTHORIZED
                && response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("use_dpop_nonce"));
            if !wants_nonce || retried {
                return Ok(response);
            }
            retried = true;
        }
    }
}
