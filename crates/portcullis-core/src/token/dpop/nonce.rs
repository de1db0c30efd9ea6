//! Server nonces for DPoP proofs (RFC 9449 §8, §9) without server state.
//!
//! A nonce bounds how long a proof made in advance stays usable: a client cannot sign proofs
//! for later (say on a stolen, briefly unlocked device) because it cannot know the nonce of a
//! window to come. Stateless so that every node and guard answers alike without a shared
//! store: a nonce is the number of a time window and a truncated HMAC-SHA256 of it under a
//! secret only the issuer of the nonce holds. The current and the previous window are
//! accepted, so a nonce handed out just before a window ends still works for one window
//! more; a nonce of another key (another guard, another node's restart) is stale.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Bytes of the HMAC kept in a nonce (128 bits: a forgery is a 2^-128 guess).
const TAG_BYTES: usize = 16;
/// Bytes of a decoded nonce: the window number (big-endian `i64`) and the tag.
const NONCE_BYTES: usize = 8 + TAG_BYTES;
/// What the MAC covers besides the window, so this key's MACs mean nothing elsewhere.
const DOMAIN: &[u8] = b"portcullis dpop-nonce v1";

/// The secret that issues and checks stateless DPoP nonces. `Debug` hides the secret.
#[derive(Clone)]
pub struct NonceKey {
    secret: Zeroizing<[u8; 32]>,
    window_secs: i64,
}

impl NonceKey {
    /// A key with a 32-byte `secret` (random at start-up, or shared by the nodes that must
    /// accept each other's nonces) and windows of `window_secs` seconds (at least 1; e.g.
    /// 60). A nonce stays good for one to two windows.
    pub fn new(secret: [u8; 32], window_secs: u32) -> Self {
        Self {
            secret: Zeroizing::new(secret),
            window_secs: i64::from(window_secs.max(1)),
        }
    }

    /// The window length in seconds.
    pub fn window_secs(&self) -> i64 {
        self.window_secs
    }

    /// A nonce for the window holding `now` (unix seconds): 32 base64url characters. Every
    /// call in one window gives the same nonce.
    pub fn issue(&self, now: i64) -> String {
        let window = now.div_euclid(self.window_secs);
        let mut nonce = [0u8; NONCE_BYTES];
        nonce[..8].copy_from_slice(&window.to_be_bytes());
        nonce[8..].copy_from_slice(&self.tag(window));
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// Whether `nonce` was issued by this key in the window holding `now` or the one before.
    /// The tag is compared in constant time.
    pub fn check(&self, nonce: &str, now: i64) -> bool {
        let mut bytes = [0u8; NONCE_BYTES + 3];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes) else {
            return false;
        };
        if len != NONCE_BYTES {
            return false;
        }
        let mut window = [0u8; 8];
        window.copy_from_slice(&bytes[..8]);
        let window = i64::from_be_bytes(window);
        let current = now.div_euclid(self.window_secs);
        if window != current && Some(window) != current.checked_sub(1) {
            return false;
        }
        self.tag(window).ct_eq(&bytes[8..NONCE_BYTES]).into()
    }

    /// The truncated HMAC-SHA256 of `window`.
    fn tag(&self, window: i64) -> [u8; TAG_BYTES] {
        // HMAC pads a key shorter than its 64-byte block with zeros (RFC 2104 §2), so the
        // padded key is the same key, and the fixed-size constructor cannot fail.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(self.secret.as_slice());
        let mut mac = <Hmac<Sha256> as KeyInit>::new(block.as_slice().into());
        mac.update(DOMAIN);
        mac.update(&window.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey")
            .field("window_secs", &self.window_secs)
            .finish_non_exhaustive()
    }
}
