//! Presence, sessions and live words of DualConfirm pairs on this node.
//!
//! A party is *connected* while it has an open WebSocket and *active* while it has shown
//! activity within `inactivity_secs`. A pair's session is live while both parties are
//! connected and active; only then do words exist. Each party receives, over its sockets,
//! the words of every window of a live session, the other party's presence, and alerts.
//!
//! With several nodes, the two parties of a pair may be connected to different ones. Each
//! hub then tells the others, as [`Relay`] messages (carried over Redis by `relay.rs`), how
//! many sockets and what activity it has on each side of the pairs it serves, asks for the
//! others' when a party of a pair connects, repeats its own every [`HEARTBEAT_SECS`], and
//! forwards mismatch alerts. A side is present if it is present on any node; what another
//! node said is forgotten after [`REMOTE_TTL_SECS`] without news (a node that died). Words
//! are never relayed: each node derives them for its own sockets.
//!
//! The hub is a thin runner over four parts: [`presence`] decides (a state machine with no
//! I/O: events in, effects out), [`fanout`] delivers to this node's sockets, [`limiter`]
//! bounds checks (made in `check.rs`), and [`wire`] is every message's shape. Everything here is synchronous and
//! quick (one mutex held for map updates and non-blocking sends); what must be written down
//! goes to the audit worker through a channel, never the words themselves. A check is the
//! exception: its caller writes the record before answering, so no verdict goes unrecorded.

mod check;
pub mod fanout;
pub mod limiter;
pub mod presence;
pub mod wire;

#[cfg(test)]
mod tests;

use portcullis_core::dualconfirm::words::Language;
use portcullis_core::dualconfirm::{PairSecret, Role, Schedule};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

use crate::config::DualConfirmConfig;
use crate::config::DurationExt as _;
pub use check::{CheckRefusal, CheckResult};
use fanout::Fanout;
pub use fanout::{Closing, Outbox, SOCKET_QUEUE};
use limiter::Limiter;
use presence::{Effect, Event, Presence, Rules};
pub use presence::{HEARTBEAT_SECS, PairId, REMOTE_TTL_SECS};
pub use wire::{Feed, Push, Relay, Words};

/// Something for the audit log (never a word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// Event name, e.g. `dualconfirm.session_started`.
    pub event: &'static str,
    /// The pair (none for a record about many pairs).
    pub pair: Option<String>,
    /// Details.
    pub detail: serde_json::Value,
}

/// What words are derived from: a pair's secret and word-list language.
pub struct PairKey {
    /// The pair secret.
    pub secret: PairSecret,
    /// Its word-list language.
    pub language: Language,
}

/// A pair a socket joins: its id, key and the socket's side.
pub struct Membership {
    /// Pair id.
    pub pair: String,
    /// Its secret and language.
    pub key: PairKey,
    /// The side of the socket's account.
    pub role: Role,
}

/// Everything the hub's mutex guards.
struct State {
    presence: Presence,
    fanout: Fanout,
}

/// The hub of one node.
pub struct Hub {
    config: DualConfirmConfig,
    state: Mutex<State>,
    next_socket: AtomicU64,
    /// The bound on checks (counted in the store, outside the mutex).
    limiter: Limiter,
    audit: mpsc::UnboundedSender<AuditNote>,
    /// To the other nodes, when there are any to reach (Redis configured).
    relay: Option<mpsc::UnboundedSender<Relay>>,
}

impl Hub {
    /// A hub with `config`; audit notes go to `audit`, and what other nodes must know to
    /// `relay` (none on a single node).
    pub fn new(
        config: DualConfirmConfig,
        audit: mpsc::UnboundedSender<AuditNote>,
        relay: Option<mpsc::UnboundedSender<Relay>>,
    ) -> Self {
        let schedule = Schedule {
            window_secs: config.window.as_secs_i64(),
            grace_secs: config.grace.as_secs_i64(),
        };
        let rules = Rules {
            schedule,
            inactivity_secs: config.inactivity.as_secs_i64(),
        };
        let state = State {
            presence: Presence::new(rules, relay.is_some()),
            fanout: Fanout::default(),
        };
        Self {
            limiter: Limiter::new(schedule, config.max_checks_per_window),
            config,
            state: Mutex::new(state),
            next_socket: AtomicU64::new(1),
            audit,
            relay,
        }
    }

    /// The bound on checks of heard words, per side and window.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            window_secs: self.config.window.as_secs_i64(),
            grace_secs: self.config.grace.as_secs_i64(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, note: AuditNote) {
        let _ = self.audit.send(note);
    }

    fn send_relay(&self, relay: Relay) {
        if let Some(tx) = &self.relay {
            let _ = tx.send(relay);
        }
    }

    /// Carries out what presence decided; the sockets reached by rotations' words, and the
    /// pairs whose words those were.
    fn run(&self, st: &mut State, effects: Vec<Effect>, now: i64) -> (usize, Vec<String>) {
        let mut rotated = (0, Vec::new());
        for effect in effects {
            match effect {
                Effect::ToSide { pair, to, message } => {
                    if let Some(text) = serialized(&message) {
                        st.fanout.send(&pair, to, &text);
                    }
                }
                Effect::ToSocket { socket, message } => {
                    if let Some(text) = serialized(&message) {
                        st.fanout.send_to(socket, text);
                    }
                }
                Effect::Words { pair, rotation } => {
                    let schedule = self.schedule();
                    let sent = st.fanout.push(&pair, |key, role| {
                        serialized(&Feed::Words(Words::derive(
                            &pair, key, role, &schedule, now,
                        )))
                    });
                    if rotation && sent > 0 {
                        rotated.0 += sent;
                        rotated.1.push(pair.to_string());
                    }
                }
                Effect::WordsTo { pair, socket } => {
                    let schedule = self.schedule();
                    let words = st.fanout.key_for(&pair, socket).and_then(|(key, role)| {
                        serialized(&Feed::Words(Words::derive(
                            &pair, key, role, &schedule, now,
                        )))
                    });
                    if let Some(text) = words {
                        st.fanout.send_to(socket, text);
                    }
                }
                Effect::Ended { pair } => {
                    if let Some(text) = serialized(&Feed::pair_changed(&pair)) {
                        st.fanout.end(&pair, &text);
                    }
                }
                // Check counts are the store's, kept whether the pair is tracked or not.
                Effect::Untracked { .. } => {}
                Effect::Relay(relay) => self.send_relay(relay),
                Effect::Audit(note) => self.note(note),
            }
        }
        rotated
    }

    /// Hands `event` to presence and carries out what it decided.
    fn handle(&self, st: &mut State, event: Event<'_>, now: i64) {
        let effects = st.presence.handle(event, now);
        self.run(st, effects, now);
    }

    /// Relays every side this node has sockets on; with `ask`, also asks the other nodes for
    /// theirs (after this node missed messages).
    pub fn relay_all(&self, now: i64, ask: bool) {
        let mut st = self.lock();
        self.handle(&mut st, Event::Resync { ask }, now);
    }

    /// What another node (`from`, not this one) relayed.
    pub fn on_relay(&self, from: &str, relay: Relay, now: i64) {
        let mut st = self.lock();
        match relay {
            // An alert is for this node's sockets of the side, if it has any.
            Relay::Alert { pair, to, message } => {
                st.fanout.send(&pair, to, &Push::from(message));
            }
            relay => self.handle(&mut st, Event::Heard { from, relay }, now),
        }
    }

    /// Registers a socket for `memberships`; returns its id. The socket at once receives the
    /// other parties' presence and, for live sessions, the words.
    pub fn connect(&self, memberships: Vec<Membership>, out: impl Into<Outbox>, now: i64) -> u64 {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        let joined = st.fanout.join(id, memberships, out.into());
        for (pair, role) in &joined {
            let event = Event::Joined {
                pair,
                role: *role,
                socket: id,
            };
            self.handle(&mut st, event, now);
        }
        id
    }

    /// Activity on a socket (a key press or click in the console).
    pub fn activity(&self, socket: u64, now: i64) {
        let mut st = self.lock();
        let Some(pairs) = st.fanout.memberships(socket) else {
            return;
        };
        for (pair, role) in &pairs {
            self.handle(&mut st, Event::Active { pair, role: *role }, now);
        }
    }

    /// A socket closed.
    pub fn disconnect(&self, socket: u64, now: i64) {
        let mut st = self.lock();
        let Some(pairs) = st.fanout.leave(socket) else {
            return;
        };
        for (pair, role) in &pairs {
            self.handle(&mut st, Event::Left { pair, role: *role }, now);
        }
    }

    /// Forgets a pair (removed, or its language changed): its sockets stop hearing of it, on
    /// every node.
    pub fn forget_pair(&self, pair: &str) {
        let mut st = self.lock();
        // Forgetting reads no clock: presence ignores the time here.
        self.handle(&mut st, Event::Removed { pair }, 0);
    }

    /// Ends the session of `pair` on this node because one of its sides no longer qualifies
    /// (see `end_withdrawn_pairs`): that side's sockets here are closed
    /// ([`Closing::NotAParty`]) and the other side's are told the pair changed. Other nodes
    /// are not told: each looks at the store for its own consoles.
    pub fn withdraw(&self, pair: &str, sides: &[Role]) {
        let mut st = self.lock();
        for side in sides {
            st.fanout.close_side(pair, *side, Closing::NotAParty);
        }
        self.handle(&mut st, Event::Withdrawn { pair }, 0);
    }

    /// Ends idle sessions and, at a window boundary, pushes the new words of every live
    /// session. Call it often (every 100 ms); returns how many parties received new words.
    pub fn tick(&self, now: i64) -> usize {
        let mut st = self.lock();
        let effects = st.presence.handle(Event::Tick, now);
        let (delivered, pairs) = self.run(&mut st, effects, now);
        drop(st);
        // One record per rotation names every pair it reached: thousands of pairs rotate in
        // the same instant, and a record each would queue thousands of chained writes
        // behind the delivery.
        if !pairs.is_empty() {
            self.note(AuditNote {
                event: "dualconfirm.rotation_delivered",
                pair: None,
                detail: json!({"window": self.window_at(now), "pairs": pairs, "sockets": delivered}),
            });
        }
        delivered
    }

    /// The window's length in milliseconds.
    pub fn window_millis(&self) -> u64 {
        u64::try_from(self.config.window.as_secs_i64().max(1)).unwrap_or(1) * 1000
    }

    /// Milliseconds from `now_ms` (unix) to the next window boundary.
    pub fn millis_to_rotation(&self, now_ms: u64) -> u64 {
        let window_ms = u64::try_from(self.config.window.as_secs_i64().max(1)).unwrap_or(1) * 1000;
        window_ms - now_ms % window_ms
    }

    /// The caller's words of `pair` (whose key the caller read from the store), while the
    /// session is live, whichever nodes its parties are connected to.
    pub fn words(&self, pair: &str, key: &PairKey, role: Role, now: i64) -> Option<Words> {
        let live = self.is_live(pair);
        live.then(|| Words::derive(pair, key, role, &self.schedule(), now))
    }

    /// Whether `pair` has a live session (its parties may be on any nodes).
    pub fn is_live(&self, pair: &str) -> bool {
        self.lock().presence.is_live(pair)
    }

    /// The window number at unix second `now`.
    pub fn window_at(&self, now: i64) -> u64 {
        self.schedule().window_at(now)
    }

    /// Open sockets on this node.
    pub fn connected_parties(&self) -> usize {
        self.lock().fanout.sockets()
    }

    /// Pairs this node keeps state for (its own sockets' and those it heard of).
    pub fn tracked_pairs(&self) -> usize {
        self.lock().presence.tracked()
    }

    /// The pairs with a console connected to this node (whose removal it must notice).
    pub fn served_pairs(&self) -> Vec<PairId> {
        self.lock().fanout.pairs()
    }
}

/// `message` as sent on the sockets; logged and skipped in the (impossible) case it does not
/// serialize.
fn serialized(message: &Feed) -> Option<Push> {
    match message.to_push() {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a DualConfirm message");
            None
        }
    }
}
