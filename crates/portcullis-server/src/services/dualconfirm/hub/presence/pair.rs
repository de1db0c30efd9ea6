//! One pair as presence sees it: each side's sockets here, what other nodes said of it, and
//! whether its session is live, with the rule that recomputes that and says what changed.

use portcullis_core::dualconfirm::Role;
use serde_json::json;
use std::collections::HashMap;

use super::events::{Effect, Rules};
use super::{PairId, REMOTE_TTL_SECS, idx};
use crate::services::dualconfirm::hub::AuditNote;
use crate::services::dualconfirm::hub::wire::{Feed, SessionState};

/// Another node's sockets on one side of a pair.
#[derive(Debug)]
pub(super) struct Remote {
    /// Its open sockets.
    pub(super) sockets: usize,
    /// Unix seconds of the side's last activity there.
    pub(super) last_active: i64,
    /// When this node heard it (unix seconds).
    pub(super) heard_at: i64,
}

/// One side of a pair: a party's consoles, here and on other nodes.
#[derive(Debug, Default)]
pub(super) struct Side {
    /// Sockets of this side on this node.
    pub(super) local: usize,
    /// Unix seconds of the side's last activity on this node.
    pub(super) last_active: i64,
    /// The side as other nodes last described it, by node.
    pub(super) remote: HashMap<String, Remote>,
    /// The `last_active` last relayed (activity is relayed at most every heartbeat).
    pub(super) relayed_active: i64,
}

impl Side {
    /// What other nodes said within [`REMOTE_TTL_SECS`], with sockets open.
    fn remote_now(&self, now: i64) -> impl Iterator<Item = &Remote> {
        self.remote
            .values()
            .filter(move |r| r.sockets > 0 && now - r.heard_at < REMOTE_TTL_SECS)
    }

    /// Whether the side has a socket open on any node.
    pub(super) fn connected(&self, now: i64) -> bool {
        self.local > 0 || self.remote_now(now).next().is_some()
    }

    /// Whether the side is connected somewhere and was active there within `inactivity`.
    /// Another node's `last_active` came over Redis and may be any `i64`, so the age
    /// saturates: the most negative time is long ago, never (wrapped) just now.
    pub(super) fn active(&self, now: i64, inactivity: i64) -> bool {
        let here = self.local > 0 && now.saturating_sub(self.last_active) < inactivity;
        here || self
            .remote_now(now)
            .any(|r| now.saturating_sub(r.last_active) < inactivity)
    }
}

/// A pair's presence.
#[derive(Debug)]
pub(super) struct PairState {
    /// The pair's id (the map's key), for the effects that name it.
    pub(super) id: PairId,
    /// Client, advisor (see [`idx`]).
    pub(super) sides: [Side; 2],
    /// Whether both sides are active: words exist.
    pub(super) live: bool,
    /// The window whose words were pushed last (a session that starts just after a
    /// boundary, before the ticker saw it, must not get the same words twice).
    pub(super) pushed: Option<u64>,
}

impl PairState {
    pub(super) fn new(id: PairId) -> Self {
        Self {
            id,
            sides: Default::default(),
            live: false,
            pushed: None,
        }
    }

    /// Whether a party has a socket on this node (words are pushed, and session changes
    /// audited, only by nodes a party is connected to).
    pub(super) fn here(&self) -> bool {
        self.sides.iter().any(|s| s.local > 0)
    }

    /// Neither a socket here nor word of one elsewhere: nothing to keep.
    pub(super) fn unused(&self) -> bool {
        self.sides
            .iter()
            .all(|s| s.local == 0 && s.remote.is_empty())
    }

    /// The presence message about side `about`.
    pub(super) fn presence_of(&self, about: Role, now: i64, rules: &Rules) -> Feed {
        let side = &self.sides[idx(about)];
        Feed::Presence {
            pair: self.id.to_string(),
            party: about,
            connected: side.connected(now),
            active: side.active(now, rules.inactivity_secs),
            session: if self.live {
                SessionState::Live
            } else {
                SessionState::Waiting
            },
        }
    }

    /// Recomputes whether the session is live; on a change, notes it, tells both sides and
    /// (when it became live) pushes the words. `changed` is a side whose presence changed:
    /// both sides hear of it even when the session did not change.
    pub(super) fn refresh(
        &mut self,
        now: i64,
        changed: Option<Role>,
        rules: &Rules,
        out: &mut Vec<Effect>,
    ) {
        let live = self
            .sides
            .iter()
            .all(|s| s.active(now, rules.inactivity_secs));
        let was = self.live;
        self.live = live;
        if live != was && self.here() {
            let reason = if live {
                "both_present"
            } else if self.sides.iter().any(|s| !s.connected(now)) {
                "disconnected"
            } else {
                "inactive"
            };
            let event = if live {
                "dualconfirm.session_started"
            } else {
                "dualconfirm.session_ended"
            };
            let detail = json!({"reason": reason});
            out.push(Effect::Audit(note(event, &self.id, detail)));
        }
        if live != was || changed.is_some() {
            for to in [Role::Client, Role::Advisor] {
                if self.sides[idx(to)].local > 0 {
                    out.push(Effect::ToSide {
                        pair: self.id.clone(),
                        to,
                        message: self.presence_of(to.other(), now, rules),
                    });
                }
            }
        }
        if live && !was {
            self.pushed = Some(rules.schedule.window_at(now));
            if self.here() {
                out.push(Effect::Words {
                    pair: self.id.clone(),
                    rotation: false,
                });
            }
        }
    }
}

pub(super) fn note(event: &'static str, pair: &str, detail: serde_json::Value) -> AuditNote {
    AuditNote {
        event,
        pair: Some(pair.to_owned()),
        detail,
    }
}
