//! The tokens `portcullis bench guard` verifies: a throw-away key, its key set served on a
//! loopback port for the guard to fetch, and a pool of distinct tokens signed on every core
//! before anything is measured, each with its signature decoded for the raw Ed25519 check.

use anyhow::{Context as _, anyhow};
use axum::Json;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use portcullis_core::ids::AccountId;
use portcullis_core::token::{AccessClaims, Jwks, TokenKeys};
use portcullis_server::clock::{Clock as _, SystemClock};
use std::time::{Duration, Instant};

pub(super) const ISSUER: &str = "https://auth.bench.invalid";
pub(super) const AUDIENCE: &str = "https://service.bench.invalid";

/// A token with its signing input and signature taken apart for the raw check.
pub(super) struct Signed {
    pub(super) token: String,
    pub(super) signature: Signature,
}

impl Signed {
    pub(super) fn signing_input(&self) -> &[u8] {
        let end = self.token.rfind('.').unwrap_or(0);
        &self.token.as_bytes()[..end]
    }
}

/// Serves `jwks` at `/.well-known/jwks.json` on a loopback port; returns its URL and the task.
pub(super) async fn serve_jwks(
    jwks: Jwks,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let jwks = jwks.clone();
            async move { Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr()?);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the bench JWKS endpoint stopped");
        }
    });
    Ok((url, task))
}

/// The active key of `jwks`, parsed once as the raw phase uses it.
pub(super) fn verifying_key(jwks: &Jwks) -> anyhow::Result<VerifyingKey> {
    let jwk = jwks.keys.first().context("the key set is empty")?;
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&jwk.x)?
        .try_into()
        .map_err(|_| anyhow!("the key is not 32 bytes"))?;
    Ok(VerifyingKey::from_bytes(&bytes)?)
}

/// Claims like the server's: a fresh session and token id per token.
fn claims(now: i64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.to_owned(),
        sub: AccountId::new(SystemClock.now_millis(), [7; 10]).to_string(),
        aud: AUDIENCE.to_owned(),
        exp: now + 600,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::now_v7().to_string(),
        sid: uuid::Uuid::now_v7().to_string(),
        acr: "aal1".to_owned(),
        amr: vec!["pwd".to_owned()],
        roles: vec!["user".to_owned()],
        auth_time: now,
        scope: None,
        cnf: None,
    }
}

fn signed(keys: &TokenKeys, now: i64) -> anyhow::Result<Signed> {
    let token = keys.sign(&claims(now))?;
    let (_, signature) = token.rsplit_once('.').context("token without signature")?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature)?)?;
    Ok(Signed { token, signature })
}

/// Enough tokens to last `window` at the raw verification rate, plus a tenth.
pub(super) fn pool_size(
    keys: &TokenKeys,
    key: &VerifyingKey,
    now: i64,
    window: Duration,
) -> anyhow::Result<usize> {
    let sample = (0..64)
        .map(|_| signed(keys, now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t0 = Instant::now();
    let mut done = 0usize;
    while t0.elapsed() < Duration::from_millis(300) {
        let s = &sample[done % sample.len()];
        key.verify(s.signing_input(), &s.signature)?;
        done += 1;
    }
    let rate = done as f64 / t0.elapsed().as_secs_f64();
    Ok((rate * window.as_secs_f64() * 1.1).ceil() as usize)
}

/// `count` distinct tokens, signed on every core.
pub(super) fn sign_pool(keys: &TokenKeys, now: i64, count: usize) -> anyhow::Result<Vec<Signed>> {
    let threads = std::thread::available_parallelism().map(|n| n.get())?;
    let per_thread = count.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = per_thread.min(count.saturating_sub(t * per_thread));
                s.spawn(move || (0..n).map(|_| signed(keys, now)).collect::<Vec<_>>())
            })
            .collect();
        let mut pool = Vec::with_capacity(count);
        for h in handles {
            let part = h.join().map_err(|_| anyhow!("signing thread panicked"))?;
            pool.extend(part.into_iter().collect::<anyhow::Result<Vec<_>>>()?);
        }
        Ok(pool)
    })
}
