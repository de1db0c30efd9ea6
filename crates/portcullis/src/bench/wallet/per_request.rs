//! The per-request half of `portcullis bench wallet`: verifying a bearer access token against
//! verifying a DPoP-bound one with its proof, on one thread, without HTTP.

use anyhow::{anyhow, bail};
use portcullis_core::ids::AccountId;
use portcullis_core::token::dpop::{
    self, KeyCache, NonceKey, ProofCheck, ProofClaims, ReplayCache, SessionSigner,
};
use portcullis_core::token::{AccessClaims, Confirmation, Expectation, TokenKeys};
use portcullis_server::clock::{Clock as _, SystemClock};
use std::time::{Duration, Instant};

/// Microseconds per verification, one thread.
pub(super) struct DpopCosts {
    pub(super) bearer_us: f64,
    pub(super) eddsa_us: f64,
    pub(super) es256k_us: f64,
}

pub(super) fn dpop_costs(window: Duration) -> anyhow::Result<DpopCosts> {
    let now = SystemClock.now();
    let keys = TokenKeys::generate([0x42; 32], now)?;
    let eddsa = SessionSigner::ed25519_from_bytes(&[0x17; 32]);
    let es256k = SessionSigner::secp256k1_from_bytes(&[0x18; 32])?;
    let claims = |cnf: Option<&SessionSigner>| AccessClaims {
        iss: "http://127.0.0.1:8080".to_owned(),
        sub: AccountId::new(SystemClock.now_millis(), [7; 10]).to_string(),
        aud: "portcullis".to_owned(),
        exp: now + 600,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::now_v7().to_string(),
        sid: uuid::Uuid::now_v7().to_string(),
        acr: "aal2".to_owned(),
        amr: vec!["pwd".to_owned(), "hwk".to_owned()],
        roles: vec!["user".to_owned()],
        auth_time: now,
        scope: None,
        cnf: cnf.map(|k| Confirmation {
            jkt: k.public().thumbprint(),
        }),
    };
    let expect = Expectation {
        issuer: "http://127.0.0.1:8080",
        audience: "portcullis",
        leeway_secs: 30,
    };
    let bearer = keys.sign(&claims(None))?;
    let bearer_us = time_per_op(window, |_| {
        keys.verify(&bearer, &expect, now)
            .map(drop)
            .map_err(anyhow::Error::from)
    })?;
    let nonces = NonceKey::new([0x33; 32], 60);
    let uri = "http://127.0.0.1:8080/v1/me";
    let mut per_key = Vec::new();
    for key in [&eddsa, &es256k] {
        let token = keys.sign(&claims(Some(key)))?;
        let jkt = key.public().thumbprint();
        // Proofs are made beforehand: a server only verifies them.
        let proofs: Vec<String> = (0..20_000)
            .map(|i| {
                key.proof(&ProofClaims {
                    jti: format!("bench-{i}"),
                    htm: "GET".into(),
                    htu: uri.into(),
                    iat: now,
                    nonce: Some(nonces.issue(now)),
                    ath: Some(dpop::ath(&token)),
                })
            })
            .collect();
        let key_cache = KeyCache::new(16);
        let mut replay = ReplayCache::new(proofs.len() + 1, 60);
        let us = time_per_op(window, |i| {
            let proof = proofs
                .get(i)
                .ok_or_else(|| anyhow!("more iterations than proofs"))?;
            let claims = keys.verify(&token, &expect, now)?;
            let check = ProofCheck {
                method: "GET",
                uri,
                now,
                max_age_secs: 60,
                skew_secs: 5,
                access_token: Some(&token),
                jkt: claims.cnf.as_ref().map(|c| c.jkt.as_str()),
                nonces: Some(&nonces),
                keys: Some(&key_cache),
            };
            let verified = dpop::verify(proof, &check)?;
            if verified.jkt != jkt {
                bail!("the proof's key is not the token's");
            }
            replay.check_and_remember(&verified.jkt, &verified.jti, verified.iat, now)?;
            Ok(())
        })?;
        per_key.push(us);
    }
    Ok(DpopCosts {
        bearer_us,
        eddsa_us: per_key[0],
        es256k_us: per_key[1],
    })
}

/// Microseconds per call of `op(i)` looped for `window` (or until `op` runs out).
fn time_per_op(
    window: Duration,
    mut op: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < window && done < 20_000 {
        op(done)?;
        done += 1;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / done.max(1) as f64)
}
