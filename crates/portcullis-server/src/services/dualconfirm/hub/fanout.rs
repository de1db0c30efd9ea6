//! The sockets of this node and the pairs they listen to: who gets a message meant for one
//! side of a pair, and the pair's key while a party of it is connected here (words are
//! derived for this node's own sockets only).
//!
//! Sends never wait: each socket has a queue of [`SOCKET_QUEUE`] messages. A socket whose
//! queue is full is closed ([`Closing::TooSlow`]) rather than left to miss a word or an
//! alert without knowing it: the console reconnects and is brought up to date (presence
//! and, in a live session, the words). A message is serialized once and shared by every
//! socket it goes to.

use portcullis_core::dualconfirm::Role;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use tokio::sync::{mpsc, watch};

use super::presence::{PairId, idx};
use super::wire::Push;
use super::{Membership, PairKey};

/// Messages queued per socket before it is considered too slow and closed.
pub const SOCKET_QUEUE: usize = 64;

/// Why the hub closes a socket (the socket's task sends the close frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Its queue was full: the console did not read its messages in time, and a message
    /// for it could not be queued. It reconnects and is brought up to date.
    TooSlow,
    /// Its account no longer holds the role that made it a side of a pair it joined.
    NotAParty,
}

/// Where the hub puts what a socket must send: its queue of messages, and the signal that
/// closes it.
pub struct Outbox {
    /// The socket's queue.
    pub tx: mpsc::Sender<Push>,
    /// Set (once) when the hub closes the socket.
    pub close: watch::Sender<Option<Closing>>,
}

impl Outbox {
    /// An outbox and what the socket's task reads: its queue and the closing signal.
    pub fn new() -> (Self, mpsc::Receiver<Push>, watch::Receiver<Option<Closing>>) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let (close, closing) = watch::channel(None);
        (Self { tx, close }, rx, closing)
    }

    /// Asks the socket's task to close, for `why` (the first reason stays).
    fn close(&self, why: Closing) {
        self.close.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(why);
            }
            first
        });
    }

    /// Queues `message`; a full queue closes the socket (see the module documentation).
    fn send(&self, message: Push) -> bool {
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.close.borrow().is_none() {
                    metrics::counter!("portcullis_dualconfirm_slow_sockets_closed_total")
                        .increment(1);
                }
                self.close(Closing::TooSlow);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// A bare queue, with a closing signal nobody reads (tests and benches that read the queue
/// only).
impl From<mpsc::Sender<Push>> for Outbox {
    fn from(tx: mpsc::Sender<Push>) -> Self {
        Self {
            tx,
            close: watch::Sender::new(None),
        }
    }
}

struct Socket {
    /// The pairs it joined, with its side of each.
    pairs: Vec<(PairId, Role)>,
    out: Outbox,
}

/// The sockets of one pair on this node.
struct Members {
    /// What its words are derived from (from the first socket that joined).
    key: PairKey,
    /// Socket ids per side (see [`idx`]).
    sides: [Vec<u64>; 2],
}

/// This node's sockets.
#[derive(Default)]
pub struct Fanout {
    sockets: HashMap<u64, Socket>,
    pairs: HashMap<PairId, Members>,
}

impl Fanout {
    /// Registers socket `id` for `memberships`; the pairs and sides it joined.
    pub fn join(
        &mut self,
        id: u64,
        memberships: Vec<Membership>,
        out: Outbox,
    ) -> Vec<(PairId, Role)> {
        let mut joined = Vec::with_capacity(memberships.len());
        for m in memberships {
            let pair = match self.pairs.get_key_value(m.pair.as_str()) {
                Some((pair, _)) => pair.clone(),
                None => PairId::from(m.pair),
            };
            let members = match self.pairs.entry(pair.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(Members {
                    key: m.key,
                    sides: Default::default(),
                }),
            };
            members.sides[idx(m.role)].push(id);
            joined.push((pair, m.role));
        }
        let pairs = joined.clone();
        self.sockets.insert(id, Socket { pairs, out });
        joined
    }

    /// Unregisters socket `id`; the pairs and sides it had joined (none for an unknown id).
    pub fn leave(&mut self, id: u64) -> Option<Vec<(PairId, Role)>> {
        let socket = self.sockets.remove(&id)?;
        for (pair, role) in &socket.pairs {
            if let Some(members) = self.pairs.get_mut(pair) {
                members.sides[idx(*role)].retain(|s| *s != id);
                if members.sides.iter().all(Vec::is_empty) {
                    // No socket of the pair here any more: no words to push from this node.
                    self.pairs.remove(pair);
                }
            }
        }
        Some(socket.pairs)
    }

    /// The pairs and sides socket `id` listens to.
    pub fn memberships(&self, id: u64) -> Option<Vec<(PairId, Role)>> {
        self.sockets.get(&id).map(|s| s.pairs.clone())
    }

    /// Sends `message` to this node's sockets on side `to` of `pair`; how many took it.
    pub fn send(&self, pair: &str, to: Role, message: &Push) -> usize {
        let Some(members) = self.pairs.get(pair) else {
            return 0;
        };
        self.send_each(&members.sides[idx(to)], message)
    }

    /// Sends `message` to socket `id`.
    pub fn send_to(&self, id: u64, message: Push) {
        if let Some(socket) = self.sockets.get(&id) {
            socket.out.send(message);
        }
    }

    fn send_each(&self, ids: &[u64], message: &Push) -> usize {
        let mut sent = 0;
        for id in ids {
            if let Some(socket) = self.sockets.get(id)
                && socket.out.send(message.clone())
            {
                sent += 1;
            }
        }
        sent
    }

    /// Closes this node's sockets on side `side` of `pair`, for `why`; how many.
    pub fn close_side(&self, pair: &str, side: Role, why: Closing) -> usize {
        let Some(members) = self.pairs.get(pair) else {
            return 0;
        };
        let ids = &members.sides[idx(side)];
        for id in ids {
            if let Some(socket) = self.sockets.get(id) {
                socket.out.close(why);
            }
        }
        ids.len()
    }

    /// The key of `pair` and the side socket `id` is on, while the socket listens to it.
    pub fn key_for(&self, pair: &str, id: u64) -> Option<(&PairKey, Role)> {
        let members = self.pairs.get(pair)?;
        let socket = self.sockets.get(&id)?;
        let (_, role) = socket.pairs.iter().find(|(p, _)| &**p == pair)?;
        Some((&members.key, *role))
    }

    /// Pushes each side of `pair` the message `words` makes for it from the pair's key (once
    /// per side, shared by its sockets); how many sockets took one. Stops at a side for
    /// which `words` makes none.
    pub fn push(&self, pair: &str, mut words: impl FnMut(&PairKey, Role) -> Option<Push>) -> usize {
        let Some(members) = self.pairs.get(pair) else {
            return 0;
        };
        let mut sent = 0;
        for role in [Role::Client, Role::Advisor] {
            let ids = &members.sides[idx(role)];
            if ids.is_empty() {
                continue;
            }
            let Some(message) = words(&members.key, role) else {
                return sent;
            };
            sent += self.send_each(ids, &message);
        }
        sent
    }

    /// Sends `message` to every socket of `pair` here, and they stop listening to it.
    pub fn end(&mut self, pair: &str, message: &Push) {
        let Some(members) = self.pairs.remove(pair) else {
            return;
        };
        for id in members.sides.iter().flatten() {
            if let Some(socket) = self.sockets.get_mut(id) {
                socket.out.send(message.clone());
                socket.pairs.retain(|(p, _)| &**p != pair);
            }
        }
    }

    /// Open sockets.
    pub fn sockets(&self) -> usize {
        self.sockets.len()
    }

    /// The pairs with a socket here.
    pub fn pairs(&self) -> Vec<PairId> {
        self.pairs.keys().cloned().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failure is a test failure")]
mod tests {
    use super::*;
    use portcullis_core::dualconfirm::PairSecret;
    use portcullis_core::dualconfirm::words::Language;

    fn member(pair: &str, role: Role, byte: u8) -> Membership {
        Membership {
            pair: pair.into(),
            key: PairKey {
                secret: PairSecret::from_bytes([byte; 32]),
                language: Language::En,
            },
            role,
        }
    }

    fn socket(f: &mut Fanout, id: u64, m: Vec<Membership>) -> mpsc::Receiver<Push> {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        f.join(id, m, tx.into());
        rx
    }

    fn received(rx: &mut mpsc::Receiver<Push>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok().map(|m| m.to_string())).collect()
    }

    #[test]
    fn messages_reach_the_sockets_of_one_side() {
        let mut f = Fanout::default();
        let mut c1 = socket(&mut f, 1, vec![member("p", Role::Client, 1)]);
        let mut c2 = socket(&mut f, 2, vec![member("p", Role::Client, 1)]);
        let mut a = socket(
            &mut f,
            3,
            vec![member("p", Role::Advisor, 1), member("q", Role::Advisor, 2)],
        );
        assert_eq!(f.send("p", Role::Client, &Push::from("hello")), 2);
        assert_eq!(
            (received(&mut c1), received(&mut c2)),
            (vec!["hello".into()], vec!["hello".into()])
        );
        assert!(received(&mut a).is_empty());
        assert_eq!(f.send("nowhere", Role::Client, &Push::from("x")), 0);
        // Words are made once per side, from the key of the first socket that joined.
        let mut made = Vec::new();
        let sent = f.push("p", |key, role| {
            made.push((key.secret.words(1, 2048).of(role), role));
            Some(Push::from(role.as_str()))
        });
        assert_eq!((sent, made.len()), (3, 2));
        assert_eq!(received(&mut a), vec!["advisor".to_owned()]);
        assert_eq!(f.memberships(3).unwrap().len(), 2);
        let mut pairs = f.pairs();
        pairs.sort();
        assert_eq!(pairs, vec![PairId::from("p"), PairId::from("q")]);
    }

    #[test]
    fn leaving_and_ending_drop_the_pair_when_no_socket_is_left() {
        let mut f = Fanout::default();
        let mut c = socket(&mut f, 1, vec![member("p", Role::Client, 1)]);
        let mut a = socket(
            &mut f,
            2,
            vec![member("p", Role::Advisor, 1), member("q", Role::Advisor, 2)],
        );
        assert_eq!(f.leave(1).unwrap(), vec![(PairId::from("p"), Role::Client)]);
        assert!(f.leave(1).is_none());
        assert_eq!(f.sockets(), 1);
        f.end("p", &Push::from("ended"));
        assert_eq!(received(&mut a), vec!["ended".to_owned()]);
        assert!(received(&mut c).is_empty());
        // The socket listens to its other pair only.
        assert_eq!(
            f.memberships(2).unwrap(),
            vec![(PairId::from("q"), Role::Advisor)]
        );
        assert_eq!(f.pairs(), vec![PairId::from("q")]);
        f.leave(2);
        assert!(f.pairs().is_empty());
    }

    #[test]
    fn a_full_queue_closes_the_socket_and_never_waits() {
        let mut f = Fanout::default();
        let (tx, mut rx) = mpsc::channel(1);
        let (close, closing) = watch::channel(None);
        f.join(1, vec![member("p", Role::Client, 1)], Outbox { tx, close });
        assert_eq!(f.send("p", Role::Client, &Push::from("one")), 1);
        assert_eq!(*closing.borrow(), None);
        // The second message has no room: the socket is closed rather than silently short
        // of it.
        assert_eq!(f.send("p", Role::Client, &Push::from("two")), 0);
        assert_eq!(*closing.borrow(), Some(Closing::TooSlow));
        assert_eq!(received(&mut rx), vec!["one".to_owned()]);
        // A later reason does not replace the first.
        assert_eq!(f.close_side("p", Role::Client, Closing::NotAParty), 1);
        assert_eq!(*closing.borrow(), Some(Closing::TooSlow));
    }

    #[test]
    fn closing_a_side_closes_only_its_sockets() {
        let mut f = Fanout::default();
        let (client, _c, client_closing) = Outbox::new();
        let (advisor, _a, advisor_closing) = Outbox::new();
        f.join(1, vec![member("p", Role::Client, 1)], client);
        f.join(2, vec![member("p", Role::Advisor, 1)], advisor);
        assert_eq!(f.close_side("p", Role::Advisor, Closing::NotAParty), 1);
        assert_eq!(*advisor_closing.borrow(), Some(Closing::NotAParty));
        assert_eq!(*client_closing.borrow(), None);
        assert_eq!(f.close_side("q", Role::Advisor, Closing::NotAParty), 0);
        assert_eq!(f.key_for("p", 2).map(|(_, r)| r), Some(Role::Advisor));
        assert!(f.key_for("p", 3).is_none());
    }
}
