//! The parts of the crash-safety test: the server process and its CLI (`server`), what the
//! load was told (`ledger`), the load itself (`load`) and the checks after a restart
//! (`verify`), with the small helpers they share.

pub mod ledger;
pub mod load;
pub mod server;
pub mod verify;

use reqwest::RequestBuilder;
use serde_json::Value;

/// SplitMix64: a seeded sequence, so that a failing run's kill moments can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How a request ended, seen from the client.
pub enum Answer {
    /// The expected status and the whole body arrived: the server acknowledged the write.
    Ack(Value),
    /// The request went out but no complete answer came back (the server died): the write
    /// may or may not have happened.
    Lost,
    /// No connection could be made (the server was already dead): nothing was sent.
    Unsent,
}

/// Sends `req`; the expected status `want` is an acknowledgement, a failed exchange is
/// [`Answer::Lost`] or [`Answer::Unsent`], and any other status fails the test (a refusal
/// under load is a bug of its own, and would hide what this test looks for).
pub async fn send(req: RequestBuilder, want: u16, what: &str) -> Answer {
    let resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) if e.is_connect() => return Answer::Unsent,
        Err(_) => return Answer::Lost,
    };
    let status = resp.status().as_u16();
    let Ok(body) = resp.text().await else {
        return Answer::Lost;
    };
    assert_eq!(status, want, "{what}: unexpected answer {body}");
    Answer::Ack(serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A fresh address nobody else uses.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}.{}@example.com", uuid::Uuid::now_v7().simple())
}

/// The current code of a TOTP secret given in base32 (RFC 4648, no padding).
pub fn totp_code(base32: &str) -> String {
    totp_code_ahead(base32, 0)
}

/// The code of the TOTP secret `base32` `steps` time steps from now (the server accepts one
/// step of drift, so a code of the next step is a second, unspent code).
pub fn totp_code_ahead(base32: &str, steps: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in base32.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {base32}"));
        buffer = (buffer << 5) | u32::try_from(v).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xFF).unwrap());
        }
    }
    let secret = portcullis_core::factor::totp::TotpSecret::from_bytes(bytes).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    secret
        .code_at(i64::try_from(now).unwrap() + steps * 30)
        .unwrap()
}
