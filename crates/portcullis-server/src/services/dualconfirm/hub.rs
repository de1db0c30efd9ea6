//! Presence, sessions and live words of DualConfirm pairs on this node.
//!
//! A party is *connected* while it has an open WebSocket and *active* while it has shown
//! activity within `inactivity_secs`. A pair's session is live while both parties are
//! connected and active; only then do words exist. Each party receives, over its sockets,
//! the words of every window of a live session, the other party's presence, and alerts.
//! Everything here is synchronous and quick (a mutex held for map updates and non-blocking
//! sends); what must be written down goes to the audit worker through a channel, never the
//! words themselves.

use portcullis_core::dualconfirm::words::{Language, WordList, normalise};
use portcullis_core::dualconfirm::{Check, PairSecret, Role, Schedule, derive};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

use crate::config::DualConfirmConfig;

/// Messages queued per socket before it is considered too slow and dropped.
pub const SOCKET_QUEUE: usize = 64;

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
}

struct PairState {
    secret: PairSecret,
    language: Language,
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
}

/// The hub of one node.
pub struct Hub {
    config: DualConfirmConfig,
    state: Mutex<State>,
    next_socket: AtomicU64,
    audit: mpsc::UnboundedSender<AuditNote>,
}

/// A pair a socket joins: its id, secret, language and the socket's side.
pub struct Membership {
    /// Pair id.
    pub pair: String,
    /// Its secret.
    pub secret: PairSecret,
    /// Its word-list language.
    pub language: Language,
    /// The side of the socket's account.
    pub role: Role,
}

impl Hub {
    /// A hub with `config`; audit notes go to `audit`.
    pub fn new(config: DualConfirmConfig, audit: mpsc::UnboundedSender<AuditNote>) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
            next_socket: AtomicU64::new(1),
            audit,
        }
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            window_secs: self.config.window_secs,
            grace_secs: self.config.grace_secs,
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
            let entry = st.pairs.entry(m.pair.clone()).or_insert_with(|| PairState {
                secret: m.secret,
                language: m.language,
                sides: Default::default(),
                live: false,
                pushed: None,
            });
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
            if let Some(p) = st.pairs.get_mut(&pair) {
                p.sides[idx(role)].last_active = now;
            }
            self.refresh_pair(&mut st, &pair, now, Some(role));
        }
    }

    /// A socket closed.
    pub fn disconnect(&self, socket: u64, now: i64) {
        let mut st = self.lock();
        let Some(s) = st.sockets.remove(&socket) else {
            return;
        };
        for (pair, role) in s.pairs {
            let empty = match st.pairs.get_mut(&pair) {
                Some(p) => {
                    p.sides[idx(role)].sockets.retain(|x| *x != socket);
                    p.sides.iter().all(|s| s.sockets.is_empty())
                }
                None => continue,
            };
            self.refresh_pair(&mut st, &pair, now, Some(role));
            if empty {
                st.pairs.remove(&pair);
            }
        }
    }

    /// Forgets a pair (removed, or its language changed): its sockets stop hearing of it.
    pub fn forget_pair(&self, pair: &str) {
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
        let mut st = self.lock();
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
                delivered += self.push_words(&mut st, &pair, now);
                rotated_pairs.push(pair);
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
        let window_ms = u64::try_from(self.config.window_secs.max(1)).unwrap_or(1) * 1000;
        window_ms - now_ms % window_ms
    }

    /// The caller's words, while the session is live.
    pub fn words(&self, pair: &str, role: Role, now: i64) -> Option<Words> {
        let st = self.lock();
        let p = st.pairs.get(pair)?;
        p.live.then(|| self.words_of(pair, p, role, now))
    }

    fn words_of(&self, pair: &str, p: &PairState, role: Role, now: i64) -> Words {
        let schedule = self.schedule();
        let list = WordList::get(p.language);
        let window = schedule.window_at(now);
        let indices = p.secret.words(window, list.len());
        Words {
            pair: pair.to_owned(),
            role: role.as_str(),
            window,
            say: list.word(indices.of(role)),
            expect: list.word(indices.of(role.other())),
            rotates_at: schedule.next_rotation(now),
            window_secs: schedule.window_secs,
            language: p.language.as_str(),
        }
    }

    /// `role` heard `heard` from the other party: is it the other party's word? At most
    /// `max_checks_per_window` per side and window; a mismatch alerts the other party.
    ///
    /// # Errors
    /// [`CheckRefusal`].
    pub fn check(
        &self,
        pair: &str,
        role: Role,
        heard: &str,
        now: i64,
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
        if side.checks.1 >= max {
            let wait = schedule.next_rotation(now) - now;
            return Err(CheckRefusal::TooManyAttempts {
                retry_after: wait.max(1) as u64,
            });
        }
        side.checks.1 += 1;
        side.last_active = now;
        let attempts_left = max - side.checks.1;
        let list = WordList::get(p.language);
        let outcome = derive::check(
            &p.secret,
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

    /// Recomputes whether the pair is live; on a change, notes it, tells both sides and
    /// (when it became live) pushes the words. `changed` is a side whose presence changed.
    fn refresh_pair(&self, st: &mut State, pair: &str, now: i64, changed: Option<Role>) {
        let inactivity = self.config.inactivity_secs;
        let Some(p) = st.pairs.get_mut(pair) else {
            return;
        };
        let present = |s: &Side| !s.sockets.is_empty() && now - s.last_active < inactivity;
        let live = p.sides.iter().all(present);
        let was = p.live;
        p.live = live;
        if live != was {
            let reason = if live {
                "both_present"
            } else if p.sides.iter().any(|s| s.sockets.is_empty()) {
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
        let connected = !side.sockets.is_empty();
        let active = connected && now - side.last_active < self.config.inactivity_secs;
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
        let Some(p) = st.pairs.get(pair) else {
            return 0;
        };
        let mut sent = 0;
        for role in [Role::Client, Role::Advisor] {
            let words = self.words_of(pair, p, role, now);
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

    const T0: i64 = 1_800_000_000; // a multiple of 60: a window boundary

    fn hub() -> (Hub, mpsc::UnboundedReceiver<AuditNote>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let config = DualConfirmConfig {
            window_secs: 60,
            grace_secs: 10,
            inactivity_secs: 180,
            max_checks_per_window: 5,
        };
        (Hub::new(config, tx), rx)
    }

    fn join(hub: &Hub, role: Role, now: i64) -> (u64, mpsc::Receiver<Push>) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let m = Membership {
            pair: "p".into(),
            secret: PairSecret::from_bytes([9; 32]),
            language: Language::En,
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
        assert!(hub.words("p", Role::Client, T0 + 1).is_none());
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
        let words = hub.words("p", Role::Client, T0 + 60).unwrap();
        let mut expected = serde_json::to_value(&words).unwrap();
        expected["type"] = json!("words");
        assert_eq!(next[0], expected);
        let advisor_words = drain(&mut advisor, "words");
        assert_eq!(advisor_words.len(), 1);
        assert_eq!(advisor_words[0]["say"], next[0]["expect"]);
        assert_eq!(advisor_words[0]["expect"], next[0]["say"]);
        assert_eq!(advisor_words[0]["role"], "advisor");
        hub.disconnect(advisor_socket, T0 + 61);
        assert!(hub.words("p", Role::Client, T0 + 61).is_none());
        assert_eq!(hub.tick(T0 + 120), 0, "no words without the advisor");
        let log = events(&mut audit);
        assert!(log.contains(&"dualconfirm.session_started"));
        assert!(log.contains(&"dualconfirm.rotation_delivered"));
        assert!(log.contains(&"dualconfirm.session_ended"));
    }

    #[test]
    fn inactivity_ends_the_session_and_activity_restarts_it() {
        let (hub, mut audit) = hub();
        let (client_socket, mut client) = join(&hub, Role::Client, T0);
        let (advisor_socket, _advisor) = join(&hub, Role::Advisor, T0);
        assert!(hub.words("p", Role::Client, T0 + 100).is_some());
        hub.activity(client_socket, T0 + 100);
        hub.tick(T0 + 179);
        assert!(hub.words("p", Role::Client, T0 + 179).is_some());
        // The advisor did nothing for 180 s.
        hub.tick(T0 + 180);
        assert!(hub.words("p", Role::Client, T0 + 180).is_none());
        let presence = drain(&mut client, "presence");
        let last = presence.last().unwrap();
        assert_eq!(
            (last["connected"].as_bool(), last["active"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(last["session"], "waiting");
        assert!(hub.check("p", Role::Client, "anything", T0 + 181) == Err(CheckRefusal::NotLive));
        hub.activity(advisor_socket, T0 + 200);
        assert!(hub.words("p", Role::Client, T0 + 200).is_some());
        let log = events(&mut audit);
        assert_eq!(
            log.iter()
                .filter(|e| **e == "dualconfirm.session_started")
                .count(),
            2
        );
    }
}
