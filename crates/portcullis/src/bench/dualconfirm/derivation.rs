//! Part 1 of the bench, derivation: the words of one window for many pairs, timed against the
//! same number of bare HMAC-SHA256 computations (the irreducible cost), in three alternating
//! rounds of each. Pure CPU; no server.

use hmac::{Hmac, Mac};
use portcullis_core::dualconfirm::PairSecret;
use portcullis_core::dualconfirm::words::{Language, WordList};
use sha2::Sha256;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Time taken by the derivation and by the bare HMAC, over all rounds.
pub(super) struct Derivation {
    /// Deriving the words.
    pub(super) derived: Duration,
    /// The bare HMAC-SHA256.
    pub(super) bare: Duration,
}

/// Derives the words of `pairs` pairs (each a distinct secret) and computes their bare HMACs,
/// three alternating rounds of each.
pub(super) fn measure(pairs: u32) -> Derivation {
    let secrets: Vec<PairSecret> = (0..pairs)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b[31] = 0x5a;
            PairSecret::from_bytes(b)
        })
        .collect();
    let window = 29_000_000;
    let (mut derived, mut bare) = (Duration::ZERO, Duration::ZERO);
    for round in 0..3 {
        derived += derive(&secrets, window + round);
        bare += bare_hmac(&secrets, window + round);
    }
    Derivation { derived, bare }
}

/// Derives the words of `pairs` pairs; returns the time taken.
fn derive(secrets: &[PairSecret], window: u64) -> Duration {
    let list = WordList::get(Language::En);
    let t0 = Instant::now();
    for s in secrets {
        let w = s.words(window, list.len());
        black_box((list.word(w.client), list.word(w.advisor)));
    }
    t0.elapsed()
}

/// Computes two bare HMAC-SHA256 per secret over the same input length; returns the time.
fn bare_hmac(secrets: &[PairSecret], window: u64) -> Duration {
    let t0 = Instant::now();
    for s in secrets {
        for label in [&b"client\0"[..], &b"advisor\0"[..]] {
            let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(s.expose()) else {
                continue;
            };
            mac.update(label);
            mac.update(&window.to_be_bytes());
            black_box(mac.finalize().into_bytes());
        }
    }
    t0.elapsed()
}
