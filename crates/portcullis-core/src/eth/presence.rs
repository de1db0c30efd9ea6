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

/// The first line of every presence answer.
pub const TITLE: &str = "Portcullis presence";

/// The text a wallet signs to answer `challenge` for `session` on `domain`.
pub fn message(domain: &str, session: &str, challenge: &str) -> String {
    format!("{TITLE}\nDomain: {domain}\nSession: {session}\nChallenge: {challenge}")
}

/// The domain, session and challenge of a presence text, if `text` is exactly
/// [`message`] of three non-empty one-line fields (what a wallet checks before it signs).
pub fn parse(text: &str) -> Option<(&str, &str, &str)> {
    let mut lines = text.split('\n');
    if lines.next() != Some(TITLE) {
        return None;
    }
    let mut field = |tag: &str| {
        lines
            .next()
            .and_then(|line| line.strip_prefix(tag))
            .filter(|value| !value.is_empty() && !value.contains('\r'))
    };
    let fields = (
        field("Domain: ")?,
        field("Session: ")?,
        field("Challenge: ")?,
    );
    (lines.next().is_none() && message(fields.0, fields.1, fields.2) == text).then_some(fields)
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
