//! `dualconfirm_ws`: what reaches a DualConfirm hub from outside, in any order. The input is
//! lines; the first character of each says what the rest is:
//!
//! - `a` / `b`: a text message on the WebSocket of the client (`a`) or the advisor (`b`) of
//!   pair `p1`, read by `FromConsole::parse` as the feed's route reads it (an `active`
//!   message counts as activity);
//! - `r`: a relay message from another node (`Relay`, as carried over Redis), handed to the
//!   hub;
//! - `t`: the clock moves on by the decimal seconds that follow (at most a day), and the
//!   hub's ticker runs;
//! - `x` / `y`: the client's / advisor's socket closes, or opens again when it is closed
//!   (so a side may be present only on the other node);
//! - anything else: the whole line goes to both parsers and is then dropped.
//!
//! Asserted: nothing panics (the hub's arithmetic included: debug assertions are on);
//! `FromConsole::parse` reads only JSON, and calls `active` only a message whose `type` is
//! `active`; every other type is `Other`, which the route ignores; an accepted relay message
//! serializes to JSON that reads back as the same message; every message the hub sends a
//! socket is a JSON object with a known `type` (except the text of an alert another node
//! relayed, which the hub forwards as it came).

use portcullis_core::dualconfirm::words::Language;
use portcullis_core::dualconfirm::{PairSecret, Role};
use portcullis_server::fuzzing::{Config, FromConsole, Hub, Membership, PairKey, Push, Relay};
use serde_json::Value;
use tokio::sync::mpsc;

/// Unix seconds when an input starts: a window boundary.
const T0: i64 = 1_800_000_000;
/// The pair both sockets join.
const PAIR: &str = "p1";
/// The other node's name on relay messages.
const OTHER_NODE: &str = "node-b";
/// Types of the messages the hub sends a console.
const FEED_TYPES: [&str; 4] = ["words", "presence", "alert", "session"];
/// Most lines read from one input.
const MAX_LINES: usize = 256;

/// One party's open socket: its id in the hub and what the hub sent it.
struct Socket {
    id: u64,
    role: Role,
    rx: mpsc::Receiver<Push>,
}

/// The hub under test and its two sockets (client, advisor; `None` while closed).
struct Bench {
    hub: Hub,
    sockets: [Option<Socket>; 2],
    now: i64,
    /// Whether a relayed alert (text another node wrote) may be among the pushes.
    relayed_alert: bool,
    _audit: mpsc::UnboundedReceiver<portcullis_server::fuzzing::AuditNote>,
    _relays: mpsc::UnboundedReceiver<Relay>,
}

fn open(hub: &Hub, role: Role, now: i64) -> Socket {
    let (tx, rx) = mpsc::channel(portcullis_server::fuzzing::SOCKET_QUEUE);
    let membership = Membership {
        pair: PAIR.to_owned(),
        key: PairKey {
            secret: PairSecret::from_bytes([7; 32]),
            language: Language::En,
        },
        role,
    };
    let id = hub.connect(vec![membership], tx, now);
    Socket { id, role, rx }
}

impl Bench {
    fn new() -> Self {
        let (audit, audit_rx) = mpsc::unbounded_channel();
        let (relay, relay_rx) = mpsc::unbounded_channel();
        let hub = Hub::new(Config::default().dualconfirm, audit, Some(relay));
        let sockets = [
            Some(open(&hub, Role::Client, T0)),
            Some(open(&hub, Role::Advisor, T0)),
        ];
        Self {
            hub,
            sockets,
            now: T0,
            relayed_alert: false,
            _audit: audit_rx,
            _relays: relay_rx,
        }
    }

    fn console(&mut self, side: usize, text: &str) {
        let parsed = parse_console(text);
        if crate::trace() {
            eprintln!("console {side}: {parsed:?}");
        }
        if let (Some(FromConsole::Active), Some(socket)) = (parsed, &self.sockets[side]) {
            self.hub.activity(socket.id, self.now);
        }
    }

    fn relay(&mut self, text: &str) {
        let relay = parse_relay(text);
        if crate::trace() {
            eprintln!("relay {relay:?}");
        }
        if let Some(relay) = relay {
            self.relayed_alert |= matches!(relay, Relay::Alert { .. });
            self.hub.on_relay(OTHER_NODE, relay, self.now);
        }
    }

    fn toggle(&mut self, side: usize) {
        match self.sockets[side].take() {
            Some(socket) => self.hub.disconnect(socket.id, self.now),
            None => {
                let role = [Role::Client, Role::Advisor][side];
                self.sockets[side] = Some(open(&self.hub, role, self.now));
            }
        }
    }

    /// Reads what the sockets received (so their queues never fill) and checks it.
    fn drain(&mut self) {
        for socket in self.sockets.iter_mut().flatten() {
            while let Ok(push) = socket.rx.try_recv() {
                if crate::trace() {
                    eprintln!("{} hears {push}", socket.role.as_str());
                }
                let value: Option<Value> = serde_json::from_str(&push).ok();
                let kind = value.as_ref().and_then(|v| v.get("type")?.as_str());
                assert!(
                    self.relayed_alert || kind.is_some_and(|k| FEED_TYPES.contains(&k)),
                    "the hub sent a console {push:?}"
                );
            }
        }
    }
}

/// `FromConsole::parse`, checked against what the text is as JSON.
fn parse_console(text: &str) -> Option<FromConsole> {
    let parsed = FromConsole::parse(text);
    let value: Option<Value> = serde_json::from_str(text).ok();
    if parsed.is_some() {
        assert!(
            value.is_some(),
            "a console message that is not JSON was read"
        );
    }
    if parsed == Some(FromConsole::Active) {
        let tag = value.as_ref().and_then(|v| match v {
            Value::Object(fields) => fields.get("type").cloned(),
            Value::Array(items) => items.first().cloned(),
            _ => None,
        });
        assert_eq!(
            tag.as_ref().and_then(Value::as_str),
            Some("active"),
            "{text:?} was read as activity"
        );
    }
    parsed
}

/// A relay message, which must survive a trip through JSON.
fn parse_relay(text: &str) -> Option<Relay> {
    let relay: Relay = serde_json::from_str(text).ok()?;
    let again = serde_json::to_string(&relay).expect("a relay message serializes");
    let back: Relay = serde_json::from_str(&again).expect("a serialized relay reads back");
    assert_eq!(
        back, relay,
        "a relay message changed on its way through JSON"
    );
    Some(relay)
}

/// Plays `data` (lines, see the module's documentation) against a fresh hub.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut bench = Bench::new();
    for line in text.lines().take(MAX_LINES) {
        let mut chars = line.chars();
        let op = chars.next();
        let rest = chars.as_str();
        match op {
            Some('a') => bench.console(0, rest),
            Some('b') => bench.console(1, rest),
            Some('r') => bench.relay(rest),
            Some('t') => {
                let secs: i64 = rest.trim().parse().unwrap_or(1);
                bench.now += secs.clamp(0, 86_400);
                bench.hub.tick(bench.now);
            }
            Some('x') => bench.toggle(0),
            Some('y') => bench.toggle(1),
            _ => {
                let _ = parse_console(line);
                let _ = parse_relay(line);
            }
        }
        bench.drain();
    }
}
