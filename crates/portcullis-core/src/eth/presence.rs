//! Presence: while a wallet session lives, the server asks the wallet every few seconds to
//! sign a fresh challenge, and ends the session when answers stop.
//!
//! The wallet signs (EIP-191) this text, which names the server, the session and the
//! challenge, so an answer cannot be replayed to another session or another challenge:
//!
//! ```text
//! Portcullis presence
//! Domain: auth.example.com
//! Session: 0193a1c2-…
//! Challenge: 3q2x…
//! ```

use super::{Address, EthError, WalletSignature};

/// The text a wallet signs to answer `challenge` for `session` on `domain`.
pub fn message(domain: &str, session: &str, challenge: &str) -> String {
    format!("Portcullis presence\nDomain: {domain}\nSession: {session}\nChallenge: {challenge}")
}

/// Checks that `wallet` answered `challenge`.
///
/// # Errors
/// [`EthError`] for a malformed signature or one by another key.
pub fn verify(
    domain: &str,
    session: &str,
    challenge: &str,
    signature: &WalletSignature,
    wallet: Address,
) -> Result<(), EthError> {
    signature.verify(message(domain, session, challenge).as_bytes(), wallet)
}
