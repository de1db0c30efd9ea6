//! Who is present on each side of each pair, and whether the pair's session is live: a state
//! machine with no I/O. [`Presence::handle`] takes an [`Event`] and the time and returns the
//! [`Effect`]s the hub must carry out (messages for sockets, words to push, relays for other
//! nodes, audit notes), so every rule below is tested without sockets, channels or a clock.
//!
//! A side is *connected* while it has a socket on this node or on another that spoke within
//! [`REMOTE_TTL_SECS`], and *active* while one of those showed activity within the
//! inactivity limit. A session is live while both sides are active; only then do words
//! exist. This node tells the others of its own sockets (when there are others to tell) at
//! each change, when asked, and every [`HEARTBEAT_SECS`].

mod events;
mod pair;

use portcullis_core::dualconfirm::Role;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub use events::{Effect, Event, Rules};
use pair::{PairState, Remote, note};

use super::wire::Relay;

/// How often a hub repeats its parties' presence to the other nodes.
pub const HEARTBEAT_SECS: i64 = 5;

/// How long another node's word on a side counts without being repeated.
pub const REMOTE_TTL_SECS: i64 = 3 * HEARTBEAT_SECS;

/// A pair id, shared by the hub's maps and effects without copying the text.
pub type PairId = Arc<str>;

/// Index of a side in `[client, advisor]`.
pub fn idx(role: Role) -> usize {
    match role {
        Role::Client => 0,
        Role::Advisor => 1,
    }
}

/// The presence of every pair this node serves or heard of.
#[derive(Debug)]
pub struct Presence {
    rules: Rules,
    /// Whether there are other nodes to tell (Redis configured); without, no relays.
    relaying: bool,
    pairs: HashMap<PairId, PairState>,
    /// The window of the last tick.
    window: u64,
    /// When this node last repeated its presence to the other nodes.
    heartbeat: i64,
}

impl Presence {
    /// No pairs yet.
    pub fn new(rules: Rules, relaying: bool) -> Self {
        Self {
            rules,
            relaying,
            pairs: HashMap::new(),
            window: 0,
            heartbeat: 0,
        }
    }

    /// Whether `pair` has a live session (its parties may be on any nodes).
    pub fn is_live(&self, pair: &str) -> bool {
        self.pairs.get(pair).is_some_and(|p| p.live)
    }

    /// Pairs kept (this node's sockets' and those it heard of).
    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    /// Applies `event` at unix second `now`; what the hub must do, in order.
    pub fn handle(&mut self, event: Event<'_>, now: i64) -> Vec<Effect> {
        let mut out = Vec::new();
        match event {
            Event::Joined { pair, role, socket } => self.joined(pair, role, socket, now, &mut out),
            Event::Active { pair, role } => self.active(pair, role, now, &mut out),
            Event::Checked { pair, role } => {
                if let Some(p) = self.pairs.get_mut(pair) {
                    p.sides[idx(role)].last_active = now;
                }
            }
            Event::Left { pair, role } => self.left(pair, role, now, &mut out),
            Event::Heard { from, relay } => self.heard(from, relay, now, &mut out),
            Event::Removed { pair } => {
                self.forget(pair, &mut out);
                self.relay(&mut out, || Relay::Forget {
                    pair: pair.to_owned(),
                });
            }
            Event::Withdrawn { pair } => self.forget(pair, &mut out),
            Event::Tick => self.tick(now, &mut out),
            Event::Resync { ask } => self.resync(now, ask, &mut out),
        }
        out
    }

    fn relay(&self, out: &mut Vec<Effect>, relay: impl FnOnce() -> Relay) {
        if self.relaying {
            out.push(Effect::Relay(relay()));
        }
    }

    /// Tells the other nodes of this node's side `role` of `pair`.
    fn relay_presence(&mut self, pair: &str, role: Role, out: &mut Vec<Effect>) {
        if !self.relaying {
            return;
        }
        let Some(side) = self.pairs.get_mut(pair).map(|p| &mut p.sides[idx(role)]) else {
            return;
        };
        side.relayed_active = side.last_active;
        out.push(Effect::Relay(Relay::Presence {
            pair: pair.to_owned(),
            role,
            sockets: side.local,
            last_active: side.last_active,
        }));
    }

    /// Recomputes `pair` (see [`PairState::refresh`]).
    fn refresh(&mut self, pair: &str, now: i64, changed: Option<Role>, out: &mut Vec<Effect>) {
        let rules = self.rules;
        if let Some(p) = self.pairs.get_mut(pair) {
            p.refresh(now, changed, &rules, out);
        }
    }

    fn drop_if_unused(&mut self, pair: &str, out: &mut Vec<Effect>) {
        if self.pairs.get(pair).is_some_and(PairState::unused)
            && let Some((id, _)) = self.pairs.remove_entry(pair)
        {
            out.push(Effect::Untracked { pair: id });
        }
    }

    fn joined(&mut self, pair: &PairId, role: Role, socket: u64, now: i64, out: &mut Vec<Effect>) {
        let p = self
            .pairs
            .entry(pair.clone())
            .or_insert_with(|| PairState::new(pair.clone()));
        let side = &mut p.sides[idx(role)];
        side.local += 1;
        side.last_active = now;
        let was_live = p.live;
        self.refresh(pair, now, Some(role), out);
        if let Some(p) = self.pairs.get(&**pair) {
            out.push(Effect::ToSocket {
                socket,
                message: p.presence_of(role.other(), now, &self.rules),
            });
            // A console joining a session that was live already (another console of its
            // side kept it so, or it reconnects after being closed) gets the words at once;
            // a session that just started pushed them to every socket.
            if was_live && p.live {
                out.push(Effect::WordsTo {
                    pair: pair.clone(),
                    socket,
                });
            }
        }
        self.relay_presence(pair, role, out);
        self.relay(out, || Relay::Ask {
            pair: pair.to_string(),
        });
    }

    /// Activity on side `role`: the inactivity clock starts again. The parties hear of it
    /// only when it changes what they are shown (an inactive side became active): a console
    /// that reports activity often costs the other side nothing.
    fn active(&mut self, pair: &str, role: Role, now: i64, out: &mut Vec<Effect>) {
        let inactivity = self.rules.inactivity_secs;
        let Some(p) = self.pairs.get_mut(pair) else {
            return;
        };
        let side = &mut p.sides[idx(role)];
        let was_active = side.active(now, inactivity);
        side.last_active = now;
        let changed = side.active(now, inactivity) != was_active;
        let relay_due = now - side.relayed_active >= HEARTBEAT_SECS;
        self.refresh(pair, now, changed.then_some(role), out);
        if relay_due {
            self.relay_presence(pair, role, out);
        }
    }

    fn left(&mut self, pair: &str, role: Role, now: i64, out: &mut Vec<Effect>) {
        let Some(p) = self.pairs.get_mut(pair) else {
            return;
        };
        let side = &mut p.sides[idx(role)];
        side.local = side.local.saturating_sub(1);
        self.relay_presence(pair, role, out);
        self.refresh(pair, now, Some(role), out);
        self.drop_if_unused(pair, out);
    }

    fn heard(&mut self, from: &str, relay: Relay, now: i64, out: &mut Vec<Effect>) {
        match relay {
            Relay::Presence {
                pair,
                role,
                sockets,
                last_active,
            } => {
                let inactivity = self.rules.inactivity_secs;
                if sockets > 0 && !self.pairs.contains_key(pair.as_str()) {
                    // Tracked here too, so a request for the pair's words or a check that
                    // lands on this node knows whether the session is live.
                    let id = PairId::from(pair.as_str());
                    self.pairs.insert(id.clone(), PairState::new(id));
                }
                let Some(side) = self
                    .pairs
                    .get_mut(pair.as_str())
                    .map(|p| &mut p.sides[idx(role)])
                else {
                    return;
                };
                let before = (side.connected(now), side.active(now, inactivity));
                if sockets == 0 {
                    side.remote.remove(from);
                } else {
                    let remote = Remote {
                        sockets,
                        last_active,
                        heard_at: now,
                    };
                    side.remote.insert(from.to_owned(), remote);
                }
                let after = (side.connected(now), side.active(now, inactivity));
                self.refresh(&pair, now, (before != after).then_some(role), out);
                self.drop_if_unused(&pair, out);
            }
            Relay::Ask { pair } => {
                let Some(p) = self.pairs.get(pair.as_str()) else {
                    return;
                };
                let here: Vec<Role> = [Role::Client, Role::Advisor]
                    .into_iter()
                    .filter(|r| p.sides[idx(*r)].local > 0)
                    .collect();
                for role in here {
                    self.relay_presence(&pair, role, out);
                }
            }
            Relay::Forget { pair } => self.forget(&pair, out),
            Relay::Alert { .. } => {}
        }
    }

    /// Forgets `pair` here: its sockets are told the session ended.
    fn forget(&mut self, pair: &str, out: &mut Vec<Effect>) {
        let Some((id, p)) = self.pairs.remove_entry(pair) else {
            return;
        };
        if p.live {
            let detail = json!({"reason": "pair_changed"});
            out.push(Effect::Audit(note(
                "dualconfirm.session_ended",
                pair,
                detail,
            )));
        }
        out.push(Effect::Ended { pair: id.clone() });
        out.push(Effect::Untracked { pair: id });
    }

    fn resync(&mut self, now: i64, ask: bool, out: &mut Vec<Effect>) {
        if !self.relaying {
            return;
        }
        self.heartbeat = now;
        for (id, p) in &mut self.pairs {
            for role in [Role::Client, Role::Advisor] {
                let side = &mut p.sides[idx(role)];
                if side.local == 0 {
                    continue;
                }
                side.relayed_active = side.last_active;
                out.push(Effect::Relay(Relay::Presence {
                    pair: id.to_string(),
                    role,
                    sockets: side.local,
                    last_active: side.last_active,
                }));
            }
        }
        if ask {
            for id in self.pairs.keys() {
                out.push(Effect::Relay(Relay::Ask {
                    pair: id.to_string(),
                }));
            }
        }
    }

    /// Ends idle sessions, forgets nodes that fell silent, repeats this node's presence
    /// every heartbeat and, at a window boundary, pushes the new words of every live session.
    fn tick(&mut self, now: i64, out: &mut Vec<Effect>) {
        if self.relaying && now - self.heartbeat >= HEARTBEAT_SECS {
            self.resync(now, false, out);
        }
        let window = self.rules.schedule.window_at(now);
        let rotated = window != self.window;
        self.window = window;
        let rules = self.rules;
        for p in self.pairs.values_mut() {
            // What other nodes said and stopped repeating is forgotten (a node that died).
            for side in &mut p.sides {
                side.remote
                    .retain(|_, r| now - r.heard_at < REMOTE_TTL_SECS);
            }
            let was_live = p.live;
            p.refresh(now, None, &rules, out);
            if rotated && was_live && p.live && p.pushed != Some(window) {
                p.pushed = Some(window);
                if p.here() {
                    out.push(Effect::Words {
                        pair: p.id.clone(),
                        rotation: true,
                    });
                }
            }
        }
        self.pairs.retain(|id, p| {
            let keep = !p.unused();
            if !keep {
                out.push(Effect::Untracked { pair: id.clone() });
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests;
