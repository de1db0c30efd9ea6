//! Word derivation: `HMAC-SHA256(pair secret, role ‖ 0x00 ‖ window)` → an index into a word
//! list, per role and time window, and the check of a heard word.
//!
//! With a list of 2,048 words the first two bytes of the MAC modulo 2,048 are unbiased
//! (65,536 is a multiple of 2,048). The two words of a window must differ, or a caller who
//! repeats what they hear would pass; when the advisor's index would equal the client's, it
//! is moved by `1 + (u32 of MAC bytes 2..6) mod (n − 1)`, uniform over the other n − 1
//! words up to a bias below 2⁻²⁰.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::entropy::Entropy;

/// Which side of the pair speaks a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The bank's customer.
    Client,
    /// The bank's adviser.
    Advisor,
}

impl Role {
    /// `client` or `advisor`: the label mixed into the MAC, and the name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Advisor => "advisor",
        }
    }

    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Client => Role::Advisor,
            Role::Advisor => Role::Client,
        }
    }
}

/// A pair's 256-bit secret. Never printed; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairSecret([u8; 32]);

impl std::fmt::Debug for PairSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairSecret(<redacted>)")
    }
}

impl PairSecret {
    /// A fresh random secret.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut bytes = [0u8; 32];
        entropy.fill(&mut bytes);
        Self(bytes)
    }

    /// From stored bytes (after decryption).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes, to encrypt for storage.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, role: Role, window: u64) -> [u8; 32] {
        // A 32-byte key is always accepted by HMAC.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        };
        mac.update(role.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(&window.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The indices of both words of `window` in a list of `list_len` words (at least 2).
    pub fn words(&self, window: u64, list_len: u16) -> WordPair {
        let n = u32::from(list_len.max(2));
        let client_mac = self.mac(Role::Client, window);
        let client = u32::from(u16::from_be_bytes([client_mac[0], client_mac[1]])) % n;
        let advisor_mac = self.mac(Role::Advisor, window);
        let mut advisor = u32::from(u16::from_be_bytes([advisor_mac[0], advisor_mac[1]])) % n;
        if advisor == client {
            let r = u32::from_be_bytes([
                advisor_mac[2],
                advisor_mac[3],
                advisor_mac[4],
                advisor_mac[5],
            ]);
            advisor = (client + 1 + r % (n - 1)) % n;
        }
        WordPair {
            client: client as u16,
            advisor: advisor as u16,
        }
    }
}

#[allow(clippy::panic, reason = "HMAC-SHA256 accepts keys of any length")]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 refused a 32-byte key")
}

/// The word indices of one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordPair {
    /// What the client says.
    pub client: u16,
    /// What the advisor says.
    pub advisor: u16,
}

impl WordPair {
    /// The index `role` says.
    pub fn of(&self, role: Role) -> u16 {
        match role {
            Role::Client => self.client,
            Role::Advisor => self.advisor,
        }
    }
}

/// Window length and the grace during which the previous window's word still counts (a
/// word said a second before the rotation is heard a second after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Seconds per window (positive).
    pub window_secs: i64,
    /// Seconds into a window during which the previous word is accepted too.
    pub grace_secs: i64,
}

impl Schedule {
    /// The window `now` (unix seconds) falls in.
    pub fn window_at(&self, now: i64) -> u64 {
        now.div_euclid(self.window_secs.max(1)).max(0) as u64
    }

    /// When the window after `now`'s begins (unix seconds).
    pub fn next_rotation(&self, now: i64) -> i64 {
        let w = self.window_secs.max(1);
        (now.div_euclid(w) + 1) * w
    }

    /// The windows whose words are accepted at `now`: the current one, and the previous one
    /// during the grace.
    pub fn accepted_windows(&self, now: i64) -> (u64, Option<u64>) {
        let current = self.window_at(now);
        let into = now.rem_euclid(self.window_secs.max(1));
        let previous = (into < self.grace_secs && current > 0).then(|| current - 1);
        (current, previous)
    }
}

/// The outcome of checking a heard word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// It is the word of this window.
    Match {
        /// The window whose word it was.
        window: u64,
    },
    /// It is not.
    Mismatch,
}

/// Longest normalised word compared; longer input cannot match a 6–9 letter word.
const MAX_WORD_BYTES: usize = 32;

fn padded(word: &str) -> Option<[u8; MAX_WORD_BYTES]> {
    let bytes = word.as_bytes();
    (bytes.len() <= MAX_WORD_BYTES).then(|| {
        let mut out = [0u8; MAX_WORD_BYTES];
        out[..bytes.len()].copy_from_slice(bytes);
        out
    })
}

/// Checks `heard` (already normalised) against what `speaker` should have said at `now`.
/// `word_of` maps an index to the normalised word. Both candidate words are compared, in
/// constant time over a fixed-size buffer, whatever matches first.
pub fn check(
    secret: &PairSecret,
    schedule: &Schedule,
    list_len: u16,
    speaker: Role,
    heard: &str,
    now: i64,
    word_of: impl Fn(u16) -> String,
) -> Check {
    let heard = padded(heard);
    let (current, previous) = schedule.accepted_windows(now);
    let mut result = Check::Mismatch;
    for window in std::iter::once(current).chain(previous) {
        let expected = padded(&word_of(secret.words(window, list_len).of(speaker)));
        let equal = match (&heard, &expected) {
            (Some(h), Some(e)) => bool::from(h.ct_eq(e)),
            _ => false,
        };
        if equal && result == Check::Mismatch {
            result = Check::Match { window };
        }
    }
    result
}

#[cfg(test)]
#[path = "derive_tests.rs"]
mod tests;
