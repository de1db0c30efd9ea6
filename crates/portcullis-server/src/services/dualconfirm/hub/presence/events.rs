//! What presence takes in and gives out: the [`Event`]s the hub feeds
//! [`Presence::handle`](super::Presence::handle) and the [`Effect`]s it returns for the hub to
//! carry out. Effects name pairs and sides, never sockets' channels: delivering is the
//! fan-out's job.

use portcullis_core::dualconfirm::{Role, Schedule};

use super::PairId;
use crate::services::dualconfirm::hub::AuditNote;
use crate::services::dualconfirm::hub::wire::{Feed, Relay};

/// Something that happened, for [`Presence::handle`].
#[derive(Debug)]
pub enum Event<'a> {
    /// A socket of this node joined side `role` of `pair`.
    Joined {
        /// The pair.
        pair: &'a PairId,
        /// The socket's side.
        role: Role,
        /// The socket (it is told the other side's presence).
        socket: u64,
    },
    /// Activity on a socket of side `role` of `pair`.
    Active {
        /// The pair.
        pair: &'a str,
        /// The socket's side.
        role: Role,
    },
    /// Side `role` of `pair` checked a heard word: activity that changes nothing else.
    Checked {
        /// The pair.
        pair: &'a str,
        /// The checking side.
        role: Role,
    },
    /// A socket of side `role` of `pair` closed.
    Left {
        /// The pair.
        pair: &'a str,
        /// The socket's side.
        role: Role,
    },
    /// Another node (`from`) relayed `relay`. Alerts are not presence: the hub delivers them.
    Heard {
        /// The other node.
        from: &'a str,
        /// What it said.
        relay: Relay,
    },
    /// The pair was removed or changed here: its sessions end, on every node.
    Removed {
        /// The pair.
        pair: &'a str,
    },
    /// A side of the pair no longer qualifies (its account lost the side's role, or is no
    /// longer active), as this node's own look at the store found: the session ends here.
    /// Other nodes are not told; each finds it for its own consoles.
    Withdrawn {
        /// The pair.
        pair: &'a str,
    },
    /// Time passed: inactivity, forgotten nodes, heartbeats and rotations.
    Tick,
    /// Tell the other nodes of every side this node has sockets on; with `ask`, also ask
    /// for theirs (after this node may have missed messages).
    Resync {
        /// Ask the others too.
        ask: bool,
    },
}

/// What the hub must do after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send `message` to this node's sockets on side `to` of `pair`.
    ToSide {
        /// The pair.
        pair: PairId,
        /// The side whose sockets get it.
        to: Role,
        /// The message.
        message: Feed,
    },
    /// Send `message` to one socket.
    ToSocket {
        /// The socket.
        socket: u64,
        /// The message.
        message: Feed,
    },
    /// Push the current words of `pair` to its sockets on this node; `rotation` when a new
    /// window made them (the tick counts those deliveries).
    Words {
        /// The pair.
        pair: PairId,
        /// Pushed at a window boundary, not because the session started.
        rotation: bool,
    },
    /// Push the current words of `pair` to one socket (it joined a session already live).
    WordsTo {
        /// The pair.
        pair: PairId,
        /// The socket.
        socket: u64,
    },
    /// `pair` was removed or changed: tell its sockets here that the session ended, and stop
    /// serving them the pair.
    Ended {
        /// The pair.
        pair: PairId,
    },
    /// `pair` is no longer tracked here: drop what else is kept for it (its check counts).
    Untracked {
        /// The pair.
        pair: PairId,
    },
    /// Tell the other nodes.
    Relay(Relay),
    /// Write to the audit log.
    Audit(AuditNote),
}

/// The timing rules presence follows.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Word windows.
    pub schedule: Schedule,
    /// Seconds without activity after which a side is inactive.
    pub inactivity_secs: i64,
}
