//! Presence, sessions and live words of DualConfirm pairs on this node.
//!
//! A party is *connected* while it has an open WebSocket and *active* while it has shown
//! activity within `inactivity_secs`. A pair's session is live while both parties are
//! connected and active; only then do words exist. Each party receives, over its sockets,
//! the words of every window of a live session, the other party's presence, and alerts.
//! Everything here is synchronous and quick (a mutex held for map updates and non-blocking
//! sends); what must be written down goes to the audit worker through a channel, never the
//! words themselves.
//!
//! With several nodes, the two parties of a pair may be connected to different ones. Each
//! hub then tells the others, as [`Relay`] messages (carried over Redis by `relay.rs`), how
//! many sockets and what activity it has on each side of the pairs it serves, asks for the
//! others' when a party of a pair connects, repeats its own every [`HEARTBEAT_SECS`], and
//! forwards mismatch alerts. A side is present if it is present on any node; what another
//! node said is forgotten after [`REMOTE_TTL_SECS`] without news (a node that died). Words
//! are never relayed: each node derives them for its own sockets.

use portcullis_core::dualconfirm::words::{Language, WordList, normalise};
use portcullis_core::dualconfirm::{Check, PairSecret, Role, Schedule, derive};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

use crate::config::DualConfirmConfig;
use crate::config::DurationExt as _;

/// Messages queued per socket before it is considered too slow and dropped.
pub const SOCKET_QUEUE: usize = 64;

/// How often a hub repeats its parties' presence to the other nodes.
pub const HEARTBEAT_SECS: i64 = 5;

/// How long another node's word on a side counts without being repeated.
pub const REMOTE_TTL_SECS: i64 = 3 * HEARTBEAT_SECS;

/// What one hub tells the others (see the module documentation). Never holds a word.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relay {
    /// The sender's sockets on one side of a pair (0: none any more) and their last activity.
    Presence {
        /// Pair id.
        pair: String,
        /// `client` or `advisor`.
        role: String,
        /// Open sockets of that side on the sender.
        sockets: usize,
        /// Unix seconds of the side's last activity on the sender.
        last_active: i64,
    },
    /// A party of `pair` connected to the sender: nodes serving the pair answer with their
    /// presence at once instead of at their next heartbeat.
    Ask {
        /// Pair id.
        pair: String,
    },
    /// A mismatch alert (the feed message itself) for the sockets of side `to`.
    Alert {
        /// Pair id.
        pair: String,
        /// `client` or `advisor`.
        to: String,
        /// The `alert` message of the feed.
        message: String,
    },
    /// The pair was removed or changed: its sockets stop hearing of it.
    Forget {
        /// Pair id.
        pair: String,
    },
}

fn role_named(name: &str) -> Option<Role> {
    [Role::Client, Role::Advisor]
        .into_iter()
        .find(|r| r.as_str() == name)
}

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

/// A party's view of one pair, pushed as JSON text.
pub type Push = Arc<str>;

/// The words of the current window for one party.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Words {
    /// The pair.
    pub pair: String,
    /// The caller's side: `client` or `advisor`.
    pub role: &'static str,
    /// Window number (unix seconds ÷ window length).
    pub window: u64,
    /// The word the caller says.
    pub say: &'static str,
    /// The word the other party must say.
    pub expect: &'static str,
    /// Unix seconds of the next rotation.
    pub rotates_at: i64,
    /// Window length in seconds.
    pub window_secs: i64,
    /// Word-list language.
    pub language: &'static str,
}

/// The `words` message of the feed: `{"type": "words", ...Words}`.
#[derive(serde::Serialize)]
struct WordsMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    words: &'a Words,
}

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

#[derive(Default)]
struct Side {
    sockets: Vec<u64>,
    last_active: i64,
    /// (window, checks used) of this side's checks of the other's word.
    checks: (u64, u32),
    /// The side as other nodes last described it, by node.
    remote: HashMap<String, Remote>,
    /// The `last_active` last relayed (activity is relayed at most every heartbeat).
    relayed_active: i64,
}

/// Another node's sockets on one side of a pair.
struct Remote {
    sockets: usize,
    last_active: i64,
    /// When this node heard it (unix seconds).
    heard_at: i64,
}

impl Side {
    /// What other nodes said within [`REMOTE_TTL_SECS`], with sockets open.
    fn remote_now(&self, now: i64) -> impl Iterator<Item = &Remote> {
        self.remote
            .values()
            .filter(move |r| r.sockets > 0 && now - r.heard_at < REMOTE_TTL_SECS)
    }

    /// Whether the side has a socket open on any node.
    fn connected(&self, now: i64) -> bool {
        !self.sockets.is_empty() || self.remote_now(now).next().is_some()
    }

    /// Whether the side is connected somewhere and was active there within `inactivity`.
    fn active(&self, now: i64, inactivity: i64) -> bool {
        let here = !self.sockets.is_empty() && now - self.last_active < inactivity;
        here || self
            .remote_now(now)
            .any(|r| now - r.last_active < inactivity)
    }
}

struct PairState {
    /// Known while a party of the pair has a socket on this node (words are pushed only to
    /// this node's sockets); a pair known only from other nodes' presence has none, and the
    /// API passes the key it read from the store.
    key: Option<PairKey>,
    sides: [Side; 2],
    live: bool,
    /// The window whose words were pushed last (a session that starts just after a
    /// boundary, before the ticker saw it, must not get the same words twice).
    pushed: Option<u64>,
}

fn idx(role: Role) -> usize {
    match role {
        Role::Client => 0,
        Role::Advisor => 1,
    }
}

struct Socket {
    pairs: Vec<(String, Role)>,
    tx: mpsc::Sender<Push>,
}

#[derive(Default)]
struct State {
    pairs: HashMap<String, PairState>,
    sockets: HashMap<u64, Socket>,
    window: u64,
    /// When this hub last repeated its presence to the other nodes.
    heartbeat: i64,
}

/// The hub of one node.
pub struct Hub {
    config: DualConfirmConfig,
    state: Mutex<State>,
    next_socket: AtomicU64,
    audit: mpsc::UnboundedSender<AuditNote>,
    /// To the other nodes, when there are any to reach (Redis configured).
    relay: Option<mpsc::UnboundedSender<Relay>>,
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

impl PairState {
    fn new(key: Option<PairKey>) -> Self {
        Self {
            key,
            sides: Default::default(),
            live: false,
            pushed: None,
        }
    }

    /// Neither a socket here nor word of one elsewhere: nothing to keep.
    fn unused(&self) -> bool {
        self.sides
            .iter()
            .all(|s| s.sockets.is_empty() && s.remote.is_empty())
    }
}

impl Hub {
    /// A hub with `config`; audit notes go to `audit`, and what other nodes must know to
    /// `relay` (none on a single node).
    pub fn new(
        config: DualConfirmConfig,
        audit: mpsc::UnboundedSender<AuditNote>,
        relay: Option<mpsc::UnboundedSender<Relay>>,
    ) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
            next_socket: AtomicU64::new(1),
            audit,
            relay,
        }
    }

    fn send_relay(&self, relay: Relay) {
        if let Some(tx) = &self.relay {
            let _ = tx.send(relay);
        }
    }

    /// Relays this node's side `role` of `pair`.
    fn relay_presence(&self, st: &mut State, pair: &str, role: Role) {
        if self.relay.is_none() {
            return;
        }
        let Some(side) = st.pairs.get_mut(pair).map(|p| &mut p.sides[idx(role)]) else {
            return;
        };
        side.relayed_active = side.last_active;
        self.send_relay(Relay::Presence {
            pair: pair.to_owned(),
            role: role.as_str().to_owned(),
            sockets: side.sockets.len(),
            last_active: side.last_active,
        });
    }

    /// Relays every side this node has sockets on; with `ask`, also asks the other nodes for
    /// theirs (after this node missed messages).
    pub fn relay_all(&self, now: i64, ask: bool) {
        if self.relay.is_none() {
            return;
        }
        let mut st = self.lock();
        st.heartbeat = now;
        let sides: Vec<(String, Role)> = st
            .pairs
            .iter()
            .flat_map(|(id, p)| {
                [Role::Client, Role::Advisor]
                    .into_iter()
                    .filter(|r| !p.sides[idx(*r)].sockets.is_empty())
                    .map(move |r| (id.clone(), r))
            })
            .collect();
        for (pair, role) in &sides {
            self.relay_presence(&mut st, pair, *role);
        }
        if ask {
            for pair in st.pairs.keys() {
                self.send_relay(Relay::Ask { pair: pair.clone() });
            }
        }
    }

    /// What another node (`from`, not this one) relayed.
    pub fn on_relay(&self, from: &str, relay: Relay, now: i64) {
        let mut st = self.lock();
        match relay {
            Relay::Presence {
                pair,
                role,
                sockets,
                last_active,
            } => {
                let Some(role) = role_named(&role) else {
                    return;
                };
                let inactivity = self.config.inactivity.as_secs_i64();
                if sockets > 0 && !st.pairs.contains_key(&pair) {
                    // Tracked here too, so a request for the pair's words or a check that
                    // lands on this node knows whether the session is live.
                    st.pairs.insert(pair.clone(), PairState::new(None));
                }
                let Some(side) = st.pairs.get_mut(&pair).map(|p| &mut p.sides[idx(role)]) else {
                    return;
                };
                let before = (side.connected(now), side.active(now, inactivity));
                if sockets == 0 {
                    side.remote.remove(from);
                } else {
                    side.remote.insert(
                        from.to_owned(),
                        Remote {
                            sockets,
                            last_active,
                            heard_at: now,
                        },
                    );
                }
                let after = (side.connected(now), side.active(now, inactivity));
                let changed = (before != after).then_some(role);
                self.refresh_pair(&mut st, &pair, now, changed);
                if st.pairs.get(&pair).is_some_and(PairState::unused) {
                    st.pairs.remove(&pair);
                }
            }
            Relay::Ask { pair } => {
                let Some(p) = st.pairs.get(&pair) else {
                    return;
                };
                let here: Vec<Role> = [Role::Client, Role::Advisor]
                    .into_iter()
                    .filter(|r| !p.sides[idx(*r)].sockets.is_empty())
                    .collect();
                for role in here {
                    self.relay_presence(&mut st, &pair, role);
                }
            }
            Relay::Alert { pair, to, message } => {
                let (Some(to), Some(p)) = (role_named(&to), st.pairs.get(&pair)) else {
                    return;
                };
                let message: Push = message.into();
                for s in &p.sides[idx(to)].sockets {
                    if let Some(sock) = st.sockets.get(s) {
                        let _ = sock.tx.try_send(message.clone());
                    }
                }
            }
            Relay::Forget { pair } => {
                drop(st);
                self.forget_locally(&pair);
            }
        }
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            window_secs: self.config.window.as_secs_i64(),
            grace_secs: self.config.grace.as_secs_i64(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, event: &'static str, pair: &str, detail: serde_json::Value) {
        let _ = self.audit.send(AuditNote {
            event,
            pair: (!pair.is_empty()).then(|| pair.to_owned()),
            detail,
        });
    }

    /// Registers a socket for `memberships`; returns its id. The socket at once receives the
    /// other parties' presence and, for live sessions, the words.
    pub fn connect(&self, memberships: Vec<Membership>, tx: mpsc::Sender<Push>, now: i64) -> u64 {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        let mut pairs = Vec::new();
        for m in memberships {
            let entry = st
                .pairs
                .entry(m.pair.clone())
                .or_insert_with(|| PairState::new(None));
            entry.key.get_or_insert(m.key);
            let side = &mut entry.sides[idx(m.role)];
            side.sockets.push(id);
            side.last_active = now;
            pairs.push((m.pair, m.role));
        }
        st.sockets.insert(
            id,
            Socket {
                pairs: pairs.clone(),
                tx,
            },
        );
        for (pair, role) in &pairs {
            self.refresh_pair(&mut st, pair, now, Some(*role));
            self.send_presence_to(&st, pair, *role, id, now);
            self.relay_presence(&mut st, pair, *role);
            self.send_relay(Relay::Ask { pair: pair.clone() });
        }
        id
    }

    /// Activity on a socket (a key press or click in the console).
    pub fn activity(&self, socket: u64, now: i64) {
        let mut st = self.lock();
        let Some(pairs) = st.sockets.get(&socket).map(|s| s.pairs.clone()) else {
            return;
        };
        for (pair, role) in pairs {
            let mut relay_due = false;
            if let Some(p) = st.pairs.get_mut(&pair) {
                let side = &mut p.sides[idx(role)];
                side.last_active = now;
                relay_due = now - side.relayed_active >= HEARTBEAT_SECS;
            }
            self.refresh_pair(&mut st, &pair, now, Some(role));
            if relay_due {
                self.relay_presence(&mut st, &pair, role);
            }
        }
    }

    /// A socket closed.
    pub fn disconnect(&self, socket: u64, now: i64) {
        let mut st = self.lock();
        let Some(s) = st.sockets.remove(&socket) else {
            return;
        };
        for (pair, role) in s.pairs {
            let Some(p) = st.pairs.get_mut(&pair) else {
                continue;
            };
            p.sides[idx(role)].sockets.retain(|x| *x != socket);
            if p.sides.iter().all(|s| s.sockets.is_empty()) {
                // No socket of the pair here any more: no words to push from this node.
                p.key = None;
            }
            self.relay_presence(&mut st, &pair, role);
            self.refresh_pair(&mut st, &pair, now, Some(role));
            if st.pairs.get(&pair).is_some_and(PairState::unused) {
                st.pairs.remove(&pair);
            }
        }
    }

    /// Forgets a pair (removed, or its language changed): its sockets stop hearing of it, on
    /// every node.
    pub fn forget_pair(&self, pair: &str) {
        self.forget_locally(pair);
        self.send_relay(Relay::Forget {
            pair: pair.to_owned(),
        });
    }

    fn forget_locally(&self, pair: &str) {
        let mut st = self.lock();
        if let Some(p) = st.pairs.remove(pair) {
            if p.live {
                self.note(
                    "dualconfirm.session_ended",
                    pair,
                    json!({"reason": "pair_changed"}),
                );
            }
            let message: Push = json!({"type": "session", "pair": pair, "state": "ended", "reason": "pair_changed"})
                .to_string()
                .into();
            for side in &p.sides {
                for s in &side.sockets {
                    if let Some(sock) = st.sockets.get(s) {
                        let _ = sock.tx.try_send(message.clone());
                    }
                }
            }
            for sock in st.sockets.values_mut() {
                sock.pairs.retain(|(id, _)| id != pair);
            }
        }
    }

    /// Ends idle sessions and, at a window boundary, pushes the new words of every live
    /// session. Call it often (every 100 ms); returns how many parties received new words.
    pub fn tick(&self, now: i64) -> usize {
        if now - self.lock().heartbeat >= HEARTBEAT_SECS {
            self.relay_all(now, false);
        }
        let mut st = self.lock();
        // What other nodes said and stopped repeating is forgotten (a node that died).
        for p in st.pairs.values_mut() {
            for side in &mut p.sides {
                side.remote
                    .retain(|_, r| now - r.heard_at < REMOTE_TTL_SECS);
            }
        }
        let window = self.schedule().window_at(now);
        let rotated = window != st.window;
        st.window = window;
        let ids: Vec<String> = st.pairs.keys().cloned().collect();
        let mut delivered = 0;
        let mut rotated_pairs = Vec::new();
        for pair in ids {
            let was_live = st.pairs.get(&pair).is_some_and(|p| p.live);
            self.refresh_pair(&mut st, &pair, now, None);
            let live = st.pairs.get(&pair).is_some_and(|p| p.live);
            let fresh = st
                .pairs
                .get(&pair)
                .is_some_and(|p| p.pushed != Some(window));
            if rotated && was_live && live && fresh {
                let sent = self.push_words(&mut st, &pair, now);
                if sent > 0 {
                    delivered += sent;
                    rotated_pairs.push(pair.clone());
                }
            }
            if st.pairs.get(&pair).is_some_and(PairState::unused) {
                st.pairs.remove(&pair);
            }
        }
        // One record per rotation names every pair it reached: thousands of pairs rotate in
        // the same instant, and a record each would queue thousands of chained writes
        // behind the delivery.
        if !rotated_pairs.is_empty() {
            self.note(
                "dualconfirm.rotation_delivered",
                "",
                json!({"window": window, "pairs": rotated_pairs, "sockets": delivered}),
            );
        }
        delivered
    }

    /// Milliseconds from `now_ms` (unix) to the next window boundary.
    pub fn millis_to_rotation(&self, now_ms: u64) -> u64 {
        let window_ms = self.config.window.as_secs().max(1) * 1000;
        window_ms - now_ms % window_ms
    }

    /// The caller's words of `pair` (whose key the caller read from the store), while the
    /// session is live, whichever nodes its parties are connected to.
    pub fn words(&self, pair: &str, key: &PairKey, role: Role, now: i64) -> Option<Words> {
        let st = self.lock();
        let p = st.pairs.get(pair)?;
        p.live.then(|| self.words_of(pair, key, role, now))
    }

    fn words_of(&self, pair: &str, key: &PairKey, role: Role, now: i64) -> Words {
        let schedule = self.schedule();
        let list = WordList::get(key.language);
        let window = schedule.window_at(now);
        let indices = key.secret.words(window, list.len());
        Words {
            pair: pair.to_owned(),
            role: role.as_str(),
            window,
            say: list.word(indices.of(role)),
            expect: list.word(indices.of(role.other())),
            rotates_at: schedule.next_rotation(now),
            window_secs: schedule.window_secs,
            language: key.language.as_str(),
        }
    }

    /// Whether `pair` has a live session (its parties may be on any nodes).
    pub fn is_live(&self, pair: &str) -> bool {
        self.lock().pairs.get(pair).is_some_and(|p| p.live)
    }

    /// The window number at unix second `now`.
    pub fn window_at(&self, now: i64) -> u64 {
        self.schedule().window_at(now)
    }

    /// `role` heard `heard` from the other party of `pair` (whose key the caller read from
    /// the store): is it the other party's word? At most `max_checks_per_window` per side and
    /// window; a mismatch alerts the other party, on whichever node it is.
    ///
    /// `counted` is this side's attempts in this window counted by every node (this one
    /// included), when they share a counter; `None` counts on this node alone.
    ///
    /// # Errors
    /// [`CheckRefusal`].
    pub fn check(
        &self,
        pair: &str,
        key: &PairKey,
        role: Role,
        heard: &str,
        now: i64,
        counted: Option<u32>,
    ) -> Result<CheckResult, CheckRefusal> {
        let schedule = self.schedule();
        let mut st = self.lock();
        let p = st
            .pairs
            .get_mut(pair)
            .filter(|p| p.live)
            .ok_or(CheckRefusal::NotLive)?;
        let window = schedule.window_at(now);
        let max = self.config.max_checks_per_window;
        let side = &mut p.sides[idx(role)];
        if side.checks.0 != window {
            side.checks = (window, 0);
        }
        let used = counted.unwrap_or_else(|| side.checks.1.saturating_add(1));
        if used > max {
            let wait = schedule.next_rotation(now) - now;
            return Err(CheckRefusal::TooManyAttempts {
                retry_after: wait.max(1) as u64,
            });
        }
        side.checks.1 = used;
        side.last_active = now;
        let attempts_left = max - used;
        let list = WordList::get(key.language);
        let outcome = derive::check(
            &key.secret,
            &schedule,
            list.len(),
            role.other(),
            &normalise(heard),
            now,
            |i| normalise(list.word(i)),
        );
        let matched = matches!(outcome, Check::Match { .. });
        self.note(
            "dualconfirm.check",
            pair,
            json!({"by": role.as_str(), "matched": matched, "window": window}),
        );
        if !matched {
            metrics::counter!("portcullis_dualconfirm_mismatches_total").increment(1);
            self.note(
                "dualconfirm.alert",
                pair,
                json!({"by": role.as_str(), "reason": "mismatch", "window": window}),
            );
            let alert: Push = json!({
                "type": "alert", "pair": pair, "reason": "mismatch", "by": role.as_str(),
                "attempts_left": attempts_left,
            })
            .to_string()
            .into();
            let st = &*st;
            if let Some(p) = st.pairs.get(pair) {
                for s in &p.sides[idx(role.other())].sockets {
                    if let Some(sock) = st.sockets.get(s) {
                        let _ = sock.tx.try_send(alert.clone());
                    }
                }
            }
            // The other party may be connected to another node.
            self.send_relay(Relay::Alert {
                pair: pair.to_owned(),
                to: role.other().as_str().to_owned(),
                message: alert.to_string(),
            });
        }
        Ok(CheckResult {
            matched,
            attempts_left,
        })
    }

    /// Open sockets on this node.
    pub fn connected_parties(&self) -> usize {
        self.lock().sockets.len()
    }

    /// Pairs this node keeps state for (its own sockets' and those it heard of).
    pub fn tracked_pairs(&self) -> usize {
        self.lock().pairs.len()
    }

    /// Recomputes whether the pair is live; on a change, notes it, tells both sides and
    /// (when it became live) pushes the words. `changed` is a side whose presence changed.
    fn refresh_pair(&self, st: &mut State, pair: &str, now: i64, changed: Option<Role>) {
        let inactivity = self.config.inactivity.as_secs_i64();
        let Some(p) = st.pairs.get_mut(pair) else {
            return;
        };
        let live = p.sides.iter().all(|s| s.active(now, inactivity));
        let was = p.live;
        p.live = live;
        // Audited by the nodes a party is connected to, not by those that only heard of it.
        if live != was && p.key.is_some() {
            let reason = if live {
                "both_present"
            } else if p.sides.iter().any(|s| !s.connected(now)) {
                "disconnected"
            } else {
                "inactive"
            };
            self.note(
                if live {
                    "dualconfirm.session_started"
                } else {
                    "dualconfirm.session_ended"
                },
                pair,
                json!({"reason": reason}),
            );
        }
        if live != was || changed.is_some() {
            for role in [Role::Client, Role::Advisor] {
                self.send_presence(st, pair, role, now);
            }
        }
        if live && !was {
            self.push_words(st, pair, now);
        }
    }

    fn presence_message(&self, st: &State, pair: &str, about: Role, now: i64) -> Option<Push> {
        let p = st.pairs.get(pair)?;
        let side = &p.sides[idx(about)];
        let connected = side.connected(now);
        let active = side.active(now, self.config.inactivity.as_secs_i64());
        Some(
            json!({
                "type": "presence", "pair": pair, "party": about.as_str(),
                "connected": connected, "active": active,
                "session": if p.live { "live" } else { "waiting" },
            })
            .to_string()
            .into(),
        )
    }

    /// Tells `to`'s sockets about the other side's presence.
    fn send_presence(&self, st: &State, pair: &str, to: Role, now: i64) {
        let Some(message) = self.presence_message(st, pair, to.other(), now) else {
            return;
        };
        if let Some(p) = st.pairs.get(pair) {
            for s in &p.sides[idx(to)].sockets {
                if let Some(sock) = st.sockets.get(s) {
                    let _ = sock.tx.try_send(message.clone());
                }
            }
        }
    }

    fn send_presence_to(&self, st: &State, pair: &str, to: Role, socket: u64, now: i64) {
        if let (Some(message), Some(sock)) = (
            self.presence_message(st, pair, to.other(), now),
            st.sockets.get(&socket),
        ) {
            let _ = sock.tx.try_send(message);
        }
    }

    /// Pushes the current words to both sides; returns how many sockets got them.
    fn push_words(&self, st: &mut State, pair: &str, now: i64) -> usize {
        let window = self.schedule().window_at(now);
        if let Some(p) = st.pairs.get_mut(pair) {
            p.pushed = Some(window);
        }
        let st = &*st;
        let Some((p, key)) = st.pairs.get(pair).and_then(|p| Some((p, p.key.as_ref()?))) else {
            // No socket of the pair on this node: nothing to push.
            return 0;
        };
        let mut sent = 0;
        for role in [Role::Client, Role::Advisor] {
            if p.sides[idx(role)].sockets.is_empty() {
                continue;
            }
            let words = self.words_of(pair, key, role, now);
            // Serialized straight from the struct: at a boundary this runs for every party
            // under the hub's lock, and building a `json!` value first costs several times more.
            let message: Push = match serde_json::to_string(&WordsMessage {
                kind: "words",
                words: &words,
            }) {
                Ok(text) => text.into(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialize DualConfirm words");
                    return sent;
                }
            };
            for s in &p.sides[idx(role)].sockets {
                if let Some(sock) = st.sockets.get(s)
                    && sock.tx.try_send(message.clone()).is_ok()
                {
                    sent += 1;
                }
            }
        }
        sent
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failure is a test failure"
)]
mod tests {
    use super::*;

    fn key() -> PairKey {
        PairKey {
            secret: PairSecret::from_bytes([9; 32]),
            language: Language::En,
        }
    }

    const T0: i64 = 1_800_000_000; // a multiple of 60: a window boundary

    fn hub() -> (Hub, mpsc::UnboundedReceiver<AuditNote>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let config = DualConfirmConfig {
            window: std::time::Duration::from_secs(60),
            grace: std::time::Duration::from_secs(10),
            inactivity: std::time::Duration::from_secs(180),
            max_checks_per_window: 5,
        };
        (Hub::new(config, tx, None), rx)
    }

    fn join(hub: &Hub, role: Role, now: i64) -> (u64, mpsc::Receiver<Push>) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let m = Membership {
            pair: "p".into(),
            key: key(),
            role,
        };
        (hub.connect(vec![m], tx, now), rx)
    }

    fn drain(rx: &mut mpsc::Receiver<Push>, kind: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            let v: serde_json::Value = serde_json::from_str(&m).unwrap();
            if v["type"] == kind {
                out.push(v);
            }
        }
        out
    }

    fn events(rx: &mut mpsc::UnboundedReceiver<AuditNote>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Ok(n) = rx.try_recv() {
            out.push(n.event);
        }
        out
    }

    #[test]
    fn words_only_while_both_are_present_and_once_per_window() {
        let (hub, mut audit) = hub();
        hub.tick(T0 - 1);
        let (_c, mut client) = join(&hub, Role::Client, T0 + 1);
        assert!(hub.words("p", &key(), Role::Client, T0 + 1).is_none());
        let (advisor_socket, mut advisor) = join(&hub, Role::Advisor, T0 + 1);
        assert_eq!(drain(&mut client, "words").len(), 1);
        assert_eq!(drain(&mut advisor, "words").len(), 1);
        // The ticker sees the boundary after the session started in it: no second push.
        hub.tick(T0 + 1);
        assert!(drain(&mut client, "words").is_empty());
        // The next boundary pushes new words to both.
        assert_eq!(hub.tick(T0 + 60), 2);
        let next = drain(&mut client, "words");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0]["window"].as_u64(), Some((T0 / 60 + 1) as u64));
        // The pushed message is the `words` answer of the API, tagged, and nothing more.
        let words = hub.words("p", &key(), Role::Client, T0 + 60).unwrap();
        let mut expected = serde_json::to_value(&words).unwrap();
        expected["type"] = json!("words");
        assert_eq!(next[0], expected);
        let advisor_words = drain(&mut advisor, "words");
        assert_eq!(advisor_words.len(), 1);
        assert_eq!(advisor_words[0]["say"], next[0]["expect"]);
        assert_eq!(advisor_words[0]["expect"], next[0]["say"]);
        assert_eq!(advisor_words[0]["role"], "advisor");
        hub.disconnect(advisor_socket, T0 + 61);
        assert!(hub.words("p", &key(), Role::Client, T0 + 61).is_none());
        assert_eq!(hub.tick(T0 + 120), 0, "no words without the advisor");
        let log = events(&mut audit);
        assert!(log.contains(&"dualconfirm.session_started"));
        assert!(log.contains(&"dualconfirm.rotation_delivered"));
        assert!(log.contains(&"dualconfirm.session_ended"));
    }

    #[test]
    fn a_shared_count_of_attempts_decides_over_this_nodes_own() {
        let (hub, _audit) = hub();
        let (_c, _client) = join(&hub, Role::Client, T0);
        let (_a, _advisor) = join(&hub, Role::Advisor, T0);
        // Other nodes counted four: this node's first attempt is the fifth and last.
        let r = hub
            .check("p", &key(), Role::Client, "nope", T0, Some(5))
            .unwrap();
        assert_eq!(r.attempts_left, 0);
        assert_eq!(
            hub.check("p", &key(), Role::Client, "nope", T0, Some(6)),
            Err(CheckRefusal::TooManyAttempts { retry_after: 60 })
        );
        // Counting alone, this node goes on from what it saw.
        assert_eq!(
            hub.check("p", &key(), Role::Client, "nope", T0, None),
            Err(CheckRefusal::TooManyAttempts { retry_after: 60 })
        );
        // The advisor's side has its own count.
        let r = hub
            .check("p", &key(), Role::Advisor, "nope", T0, None)
            .unwrap();
        assert_eq!(r.attempts_left, 4);
    }

    #[test]
    fn inactivity_ends_the_session_and_activity_restarts_it() {
        let (hub, mut audit) = hub();
        let (client_socket, mut client) = join(&hub, Role::Client, T0);
        let (advisor_socket, _advisor) = join(&hub, Role::Advisor, T0);
        assert!(hub.words("p", &key(), Role::Client, T0 + 100).is_some());
        hub.activity(client_socket, T0 + 100);
        hub.tick(T0 + 179);
        assert!(hub.words("p", &key(), Role::Client, T0 + 179).is_some());
        // The advisor did nothing for 180 s.
        hub.tick(T0 + 180);
        assert!(hub.words("p", &key(), Role::Client, T0 + 180).is_none());
        let presence = drain(&mut client, "presence");
        let last = presence.last().unwrap();
        assert_eq!(
            (last["connected"].as_bool(), last["active"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(last["session"], "waiting");
        assert!(
            hub.check("p", &key(), Role::Client, "anything", T0 + 181, None)
                == Err(CheckRefusal::NotLive)
        );
        hub.activity(advisor_socket, T0 + 200);
        assert!(hub.words("p", &key(), Role::Client, T0 + 200).is_some());
        let log = events(&mut audit);
        assert_eq!(
            log.iter()
                .filter(|e| **e == "dualconfirm.session_started")
                .count(),
            2
        );
    }
}
