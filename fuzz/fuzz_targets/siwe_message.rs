//! Arbitrary text as the messages a wallet signs: the Sign-In with Ethereum check
//! (`portcullis_core::eth::siwe::verify`, on the `siwe` crate's parser), the session key
//! delegation's parser and the presence text's parser must never panic and must agree with
//! their renderers. Seeds: `fuzz/corpus/siwe_message/`, dictionary:
//! `fuzz/dicts/siwe_message.dict`.
//!
//! What must hold for any input text:
//! - `siwe::verify` with the text signed by a fixed key either refuses it or accepts it as
//!   signed by exactly that key; accepted, the text is one this server could have issued
//!   (its domain, URI, chain and nonce), and the same signature over the text with one byte
//!   more is refused;
//! - `siwe::verify` with a signature by another key never accepts;
//! - a delegation or presence text that parses renders back to exactly the input.
#![no_main]

use k256::ecdsa::SigningKey;
use libfuzzer_sys::fuzz_target;
use portcullis_core::eth::delegation::Delegation;
use portcullis_core::eth::siwe::{self, SiweRules};
use portcullis_core::eth::{address_of, presence, sign};

/// 2026-12-05T17:01:00Z, a minute after the seeds' Issued At.
const NOW: i64 = 1_796_490_060;
const NONCE: &str = "a1b2c3d4e5f6a7b8c9d0e1f2";

fn rules() -> SiweRules {
    SiweRules {
        domain: "auth.example.com".into(),
        uri: "https://auth.example.com".into(),
        chain_id: 1,
        max_age: 300,
        skew: 60,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (Ok(key), Ok(other)) = (
        SigningKey::from_slice(&[0x11; 32]),
        SigningKey::from_slice(&[0x22; 32]),
    ) else {
        return;
    };
    let rules = rules();
    let (Ok(signature), Ok(forged)) = (sign(&key, data), sign(&other, data)) else {
        return;
    };
    if let Ok(signed) = siwe::verify(&rules, text, &signature, NONCE, NOW) {
        assert_eq!(signed.address, address_of(key.verifying_key()));
        assert_eq!(signed.nonce, NONCE);
        assert!(signed.expires_at > NOW);
        let longer = format!("{text}\n");
        assert!(siwe::verify(&rules, &longer, &signature, NONCE, NOW).is_err());
    }
    assert!(siwe::verify(&rules, text, &forged, NONCE, NOW).is_err());
    if let Ok(delegation) = Delegation::parse(text) {
        assert_eq!(delegation.message().ok().as_deref(), Some(text));
    }
    if let Some((domain, session, challenge)) = presence::parse(text) {
        assert_eq!(presence::message(domain, session, challenge), text);
    }
});
