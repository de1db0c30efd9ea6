//! The check of a word one party heard from the other: bounded per side and window by the
//! [`limiter`](super::limiter) (counted in the store before the hub is asked), decided by the
//! pair's key, and a mismatch alerts the other party on whichever node it is. The caller
//! writes the audit records before it answers.

use portcullis_core::dualconfirm::words::{WordList, normalise};
use portcullis_core::dualconfirm::{Check, Role, derive};

use super::presence::Event;
use super::wire::{AlertReason, Feed, Relay};
use super::{Hub, PairKey, serialized};

/// Why a check was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRefusal {
    /// No live session: the other party is absent or inactive.
    NotLive,
    /// The attempts of this window are used up.
    TooManyAttempts {
        /// Seconds until the next window.
        retry_after: u64,
    },
}

/// The result of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckResult {
    /// Whether the heard word was the other party's word.
    pub matched: bool,
    /// Checks left in this window.
    pub attempts_left: u32,
}

impl Hub {
    /// `role` heard `heard` from the other party of `pair` (whose key the caller read from
    /// the store): is it the other party's word? A mismatch alerts the other party, on
    /// whichever node it is.
    ///
    /// The check must have been counted first ([`Limiter::admit`](super::limiter::Limiter::admit)
    /// in the store, which bounds it to `max_checks_per_window` per side and window);
    /// `attempts_left` is what that count left.
    ///
    /// # Errors
    /// [`CheckRefusal::NotLive`].
    pub fn check(
        &self,
        pair: &str,
        key: &PairKey,
        role: Role,
        heard: &str,
        now: i64,
        attempts_left: u32,
    ) -> Result<CheckResult, CheckRefusal> {
        let mut st = self.lock();
        if !st.presence.is_live(pair) {
            return Err(CheckRefusal::NotLive);
        }
        self.handle(&mut st, Event::Checked { pair, role }, now);
        let list = WordList::get(key.language);
        let outcome = derive::check(
            &key.secret,
            &self.schedule(),
            list.len(),
            role.other(),
            &normalise(heard),
            now,
            |i| normalise(list.word(i)),
        );
        let matched = matches!(outcome, Check::Match { .. });
        // The caller audits the check and its alert before answering (see
        // `services::dualconfirm::check`), so that no verdict given goes unrecorded.
        if !matched {
            metrics::counter!("portcullis_dualconfirm_mismatches_total").increment(1);
            let alert = Feed::Alert {
                pair: pair.to_owned(),
                reason: AlertReason::Mismatch,
                by: role,
                attempts_left,
            };
            if let Some(alert) = serialized(&alert) {
                st.fanout.send(pair, role.other(), &alert);
                // The other party may be connected to another node.
                self.send_relay(Relay::Alert {
                    pair: pair.to_owned(),
                    to: role.other(),
                    message: alert.to_string(),
                });
            }
        }
        Ok(CheckResult {
            matched,
            attempts_left,
        })
    }
}
