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

/// What the presence channel does at a tick of its clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tick {
    /// Send this challenge (its text is [`message`] of it).
    Ask(String),
    /// Too many challenges in a row went unanswered: end the session.
    End,
}

/// Why a presence answer was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Not the challenge outstanding (an old one, another session's, or none asked).
    #[error("not the challenge outstanding")]
    NotOutstanding,
    /// The signature is malformed or by another key than the session's wallet.
    #[error(transparent)]
    Signature(#[from] EthError),
}

/// One wallet session's presence: the challenge outstanding and the misses in a row.
///
/// Each tick asks a fresh challenge; a tick that finds the last one unanswered counts a
/// miss, and `limit` misses in a row end the session. An answer must be the wallet's
/// signature over the outstanding challenge's text; anything else (a forged or replayed
/// answer) is refused and changes nothing, so it cannot keep a session alive.
#[derive(Clone, Debug)]
pub struct Watch {
    domain: String,
    session: String,
    wallet: Address,
    limit: u32,
    outstanding: Option<String>,
    misses: u32,
}

impl Watch {
    /// A watch of `session` (whose wallet is `wallet`) on `domain`, ending it after `limit`
    /// misses in a row (at least one).
    pub fn new(domain: &str, session: &str, wallet: Address, limit: u32) -> Self {
        Self {
            domain: domain.to_owned(),
            session: session.to_owned(),
            wallet,
            limit: limit.max(1),
            outstanding: None,
            misses: 0,
        }
    }

    /// The clock ticked; `fresh` is a new random challenge.
    pub fn tick(&mut self, fresh: String) -> Tick {
        if self.outstanding.is_some() {
            self.misses += 1;
            if self.misses >= self.limit {
                self.outstanding = None;
                return Tick::End;
            }
        }
        self.outstanding = Some(fresh.clone());
        Tick::Ask(fresh)
    }

    /// The text the wallet signs for `challenge` of this session.
    pub fn message(&self, challenge: &str) -> String {
        message(&self.domain, &self.session, challenge)
    }

    /// Takes an answer to `challenge`: the outstanding one, signed by the wallet.
    ///
    /// # Errors
    /// [`AnswerError`]; the watch is unchanged.
    pub fn answer(
        &mut self,
        challenge: &str,
        signature: &WalletSignature,
    ) -> Result<(), AnswerError> {
        let outstanding = self
            .outstanding
            .as_deref()
            .filter(|o| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    o.as_bytes(),
                    challenge.as_bytes(),
                ))
            })
            .ok_or(AnswerError::NotOutstanding)?;
        verify(
            &self.domain,
            &self.session,
            outstanding,
            signature,
            self.wallet,
        )?;
        self.outstanding = None;
        self.misses = 0;
        Ok(())
    }

    /// Misses in a row so far.
    pub fn misses(&self) -> u32 {
        self.misses
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod watch_tests {
    use k256::ecdsa::SigningKey;

    use super::*;
    use crate::eth::{address_of, sign};

    fn watch(limit: u32) -> (Watch, SigningKey) {
        let key = SigningKey::from_bytes(&[3; 32].into()).unwrap();
        let w = Watch::new(
            "auth.example.com",
            "s1",
            address_of(key.verifying_key()),
            limit,
        );
        (w, key)
    }

    fn answer(w: &Watch, key: &SigningKey, challenge: &str) -> WalletSignature {
        sign(key, w.message(challenge).as_bytes()).unwrap()
    }

    #[test]
    fn answered_challenges_keep_the_session_and_two_misses_end_it() {
        let (mut w, key) = watch(2);
        for n in 0..5 {
            let c = format!("c{n}");
            assert_eq!(w.tick(c.clone()), Tick::Ask(c.clone()));
            let sig = answer(&w, &key, &c);
            assert_eq!(w.answer(&c, &sig), Ok(()));
            assert_eq!(w.misses(), 0);
        }
        assert_eq!(w.tick("a".into()), Tick::Ask("a".into()));
        assert_eq!(w.tick("b".into()), Tick::Ask("b".into()));
        assert_eq!(w.misses(), 1);
        assert_eq!(w.tick("c".into()), Tick::End);
    }

    #[test]
    fn forged_replayed_and_stale_answers_change_nothing() {
        let (mut w, key) = watch(2);
        let other = SigningKey::from_bytes(&[4; 32].into()).unwrap();
        assert_eq!(w.tick("one".into()), Tick::Ask("one".into()));
        let good_one = answer(&w, &key, "one");
        // Another key's signature.
        let forged = answer(&w, &other, "one");
        assert!(matches!(
            w.answer("one", &forged),
            Err(AnswerError::Signature(_))
        ));
        // The right key over another session's text.
        let elsewhere = sign(&key, message("auth.example.com", "s2", "one").as_bytes()).unwrap();
        assert!(w.answer("one", &elsewhere).is_err());
        assert_eq!(w.answer("one", &good_one), Ok(()));
        // Replayed after it was taken, and before any new challenge.
        assert_eq!(w.answer("one", &good_one), Err(AnswerError::NotOutstanding));
        assert_eq!(w.tick("two".into()), Tick::Ask("two".into()));
        // The old answer does not answer the new challenge.
        assert!(w.answer("one", &good_one).is_err());
        assert!(w.answer("two", &good_one).is_err());
        assert_eq!(w.tick("three".into()), Tick::Ask("three".into()));
        assert_eq!(w.misses(), 1);
        assert_eq!(w.tick("four".into()), Tick::End);
    }
}
