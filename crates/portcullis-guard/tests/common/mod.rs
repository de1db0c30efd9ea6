//! A Portcullis stand-in for the tests: a key set served as JWKS from a local axum server on
//! port 0, a controllable clock, and token minting.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use portcullis_core::token::{AccessClaims, TokenKeys};
use portcullis_guard::{Guard, GuardConfig, GuardConfigBuilder};

pub const ISS: &str = "https://auth.example";
pub const AUD: &str = "https://ledger.example";
pub const NOW: i64 = 1_800_000_000;
pub const MIN_REFRESH: Duration = Duration::from_millis(300);

pub struct Issuer {
    pub keys: Arc<RwLock<TokenKeys>>,
    pub hits: Arc<AtomicUsize>,
    /// When set, the JWKS endpoint answers 500.
    pub failing: Arc<AtomicBool>,
    pub url: String,
    pub clock: Arc<AtomicI64>,
}

impl Issuer {
    pub async fn start() -> Self {
        let keys = Arc::new(RwLock::new(TokenKeys::generate([1; 32], NOW).unwrap()));
        let hits = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let (k, h, f) = (Arc::clone(&keys), Arc::clone(&hits), Arc::clone(&failing));
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || async move {
                h.fetch_add(1, Ordering::SeqCst);
                if f.load(Ordering::SeqCst) {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                let jwks = k.read().unwrap().jwks();
                Json(jwks).into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            keys,
            hits,
            failing,
            url: format!("http://{addr}/.well-known/jwks.json"),
            clock: Arc::new(AtomicI64::new(NOW)),
        }
    }

    pub fn config(&self) -> GuardConfigBuilder {
        GuardConfig::builder(ISS, AUD, self.url.clone()).min_refresh_interval(MIN_REFRESH)
    }

    pub fn guard(&self) -> Guard {
        self.guard_with(self.config())
    }

    pub fn guard_with(&self, config: GuardConfigBuilder) -> Guard {
        let clock = Arc::clone(&self.clock);
        Guard::new(config.build())
            .unwrap()
            .with_clock(move || clock.load(Ordering::SeqCst))
    }

    pub fn fail(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        self.keys.read().unwrap().sign(claims).unwrap()
    }

    pub fn rotate(&self, seed: u8) {
        self.keys.write().unwrap().rotate([seed; 32], NOW).unwrap();
    }
}

pub fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.to_owned(),
        sub: "acct_1".to_owned(),
        aud: AUD.to_owned(),
        exp: NOW + 300,
        iat: NOW,
        nbf: NOW,
        jti: "tok_1".to_owned(),
        sid: "sess_1".to_owned(),
        acr: "aal1".to_owned(),
        amr: vec!["pwd".to_owned()],
        roles: vec!["client".to_owned()],
        auth_time: NOW - 10,
        scope: None,
        cnf: None,
    }
}
