//! Carries the hubs' [`Relay`] messages between nodes over Redis (channel
//! `<redis_prefix>dualconfirm`), so the two parties of a pair may be connected to different
//! nodes. Without Redis there is nothing to carry, and every node serves only its own sockets.

use serde::{Deserialize, Serialize};
use std::sync::PoisonError;
use tokio::sync::mpsc;

use super::hub::Relay;
use crate::cluster::redis_link::RedisFailure;
use crate::state::AppState;

/// The Redis channel, after the configured prefix.
const TOPIC: &str = "dualconfirm";

/// A relay message with the node it comes from.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    #[serde(flatten)]
    relay: Relay,
}

/// `relay` from `node`, as published.
fn payload(node: &str, relay: Relay) -> Option<String> {
    let envelope = Envelope {
        node: node.to_owned(),
        relay,
    };
    match serde_json::to_string(&envelope) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a DualConfirm relay message");
            None
        }
    }
}

/// Publishes what this node's hub relays, until the hub is dropped.
pub async fn run_outbound(
    state: AppState,
    node: String,
    mut relays: mpsc::UnboundedReceiver<Relay>,
) {
    let Some(redis) = state.cluster.redis.clone() else {
        return;
    };
    while let Some(relay) = relays.recv().await {
        let Some(payload) = payload(&node, relay) else {
            continue;
        };
        if let Err(e) = redis.publish(TOPIC, &payload).await {
            tracing::warn!(error = %e, "a DualConfirm relay message was not published");
        }
    }
}

/// Publishes, once, what the hub of a process that runs no outbound worker has queued for
/// the other nodes: a CLI command that removed a pair tells the running nodes at once, as
/// the API would (without Redis they notice by polling). Returns how many messages went out.
///
/// # Errors
/// Redis failed or was too slow; what was not published is dropped.
pub async fn publish_queued(state: &AppState) -> Result<usize, RedisFailure> {
    let queued = state
        .dualconfirm_relay
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let (Some(redis), Some(mut queued)) = (state.cluster.redis.as_ref(), queued) else {
        return Ok(0);
    };
    let node = uuid::Uuid::from_bytes(state.random::<16>())
        .simple()
        .to_string();
    let mut published = 0;
    while let Ok(relay) = queued.try_recv() {
        if let Some(payload) = payload(&node, relay) {
            redis.publish(TOPIC, &payload).await?;
            published += 1;
        }
    }
    Ok(published)
}

/// Hands other nodes' messages to this node's hub, until aborted. After each (re)subscription
/// the hub repeats its presence and asks for the others', as messages may have been missed.
pub async fn run_inbound(state: AppState, node: String) {
    let Some(redis) = state.cluster.redis.clone() else {
        return;
    };
    redis
        .follow(TOPIC, |message| {
            let hub = &state.dualconfirm;
            let Some(text) = message else {
                hub.relay_all(state.now(), true);
                return;
            };
            match serde_json::from_str::<Envelope>(text) {
                Ok(envelope) if envelope.node == node => {}
                Ok(envelope) => hub.on_relay(&envelope.node, envelope.relay, state.now()),
                Err(e) => tracing::warn!(error = %e, "unreadable DualConfirm relay message"),
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::DualConfirmConfig;
    use crate::services::dualconfirm::hub::{
        AuditNote, CheckRefusal, Hub, Membership, PairKey, Push, REMOTE_TTL_SECS, SOCKET_QUEUE,
    };
    use portcullis_core::dualconfirm::words::Language;
    use portcullis_core::dualconfirm::{PairSecret, Role};
    use std::time::Duration;

    fn key() -> PairKey {
        PairKey {
            secret: PairSecret::from_bytes([9; 32]),
            language: Language::En,
        }
    }

    const T0: i64 = 1_800_000_000; // a window boundary

    /// A node: its hub, what it relays, and its audit notes (kept so sends succeed).
    struct Node {
        name: &'static str,
        hub: Hub,
        out: mpsc::UnboundedReceiver<Relay>,
        _audit: mpsc::UnboundedReceiver<AuditNote>,
    }

    fn node(name: &'static str) -> Node {
        let (audit, audit_rx) = mpsc::unbounded_channel();
        let (relay, out) = mpsc::unbounded_channel();
        let config = DualConfirmConfig {
            window: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            inactivity: Duration::from_secs(180),
            max_checks_per_window: 5,
            ..DualConfirmConfig::default()
        };
        Node {
            name,
            hub: Hub::new(config, audit, Some(relay)),
            out,
            _audit: audit_rx,
        }
    }

    /// Delivers what each node relayed to every other one (as Redis would), until all are
    /// quiet.
    fn pump_all(nodes: &mut [&mut Node], now: i64) {
        loop {
            let mut moved = false;
            for i in 0..nodes.len() {
                let mut sent = Vec::new();
                while let Ok(r) = nodes[i].out.try_recv() {
                    sent.push(r);
                }
                moved |= !sent.is_empty();
                for r in sent {
                    for (j, other) in nodes.iter().enumerate() {
                        if j != i {
                            other.hub.on_relay(nodes[i].name, r.clone(), now);
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn pump(a: &mut Node, b: &mut Node, now: i64) {
        pump_all(&mut [a, b], now);
    }

    fn join(node: &Node, role: Role, now: i64) -> (u64, mpsc::Receiver<Push>) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let m = Membership {
            pair: "p".into(),
            key: key(),
            role,
        };
        (node.hub.connect(vec![m], tx, now), rx)
    }

    fn drain(rx: &mut mpsc::Receiver<Push>) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(serde_json::from_str(&m).unwrap());
        }
        out
    }

    fn of_type<'a>(msgs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
        msgs.iter().filter(|m| m["type"] == kind).collect()
    }

    #[test]
    fn parties_on_two_nodes_share_a_session_alerts_and_its_end() {
        let (mut a, mut b) = (node("a"), node("b"));
        let (_c, mut client) = join(&a, Role::Client, T0 + 1);
        let (advisor_socket, mut advisor) = join(&b, Role::Advisor, T0 + 1);
        assert!(
            a.hub.words("p", &key(), Role::Client, T0 + 1).is_none(),
            "not before the relay"
        );
        pump(&mut a, &mut b, T0 + 1);

        // Both nodes see the pair live and push matching words to their own party.
        let on_a = drain(&mut client);
        let on_b = drain(&mut advisor);
        let (cw, aw) = (of_type(&on_a, "words"), of_type(&on_b, "words"));
        assert_eq!((cw.len(), aw.len()), (1, 1), "{on_a:?} {on_b:?}");
        assert_eq!(cw[0]["say"], aw[0]["expect"]);
        assert_eq!(cw[0]["expect"], aw[0]["say"]);
        assert!(
            of_type(&on_a, "presence")
                .iter()
                .any(|p| p["party"] == "advisor"
                    && p["connected"] == true
                    && p["session"] == "live")
        );

        // A wrong word checked on A alerts the advisor on B.
        let r = a
            .hub
            .check("p", &key(), Role::Client, "certainly-not-it", T0 + 2, 4)
            .unwrap();
        assert!(!r.matched);
        pump(&mut a, &mut b, T0 + 2);
        let alerts = drain(&mut advisor);
        let alerts = of_type(&alerts, "alert");
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0]["by"], "client");
        // The heard word, checked on A, is the advisor's word derived on B.
        let said = aw[0]["say"].as_str().unwrap();
        assert!(
            a.hub
                .check("p", &key(), Role::Client, said, T0 + 3, 3)
                .unwrap()
                .matched
        );

        // The advisor leaves B: the session ends on A too.
        b.hub.disconnect(advisor_socket, T0 + 4);
        pump(&mut a, &mut b, T0 + 4);
        assert!(a.hub.words("p", &key(), Role::Client, T0 + 4).is_none());
        let left = drain(&mut client);
        assert!(
            of_type(&left, "presence")
                .iter()
                .any(|p| p["party"] == "advisor" && p["connected"] == false),
            "{left:?}"
        );
        assert_eq!(
            a.hub.check("p", &key(), Role::Client, said, T0 + 5, 2),
            Err(CheckRefusal::NotLive)
        );
    }

    #[test]
    fn a_silent_node_is_forgotten_and_heartbeats_keep_a_live_one() {
        let (mut a, mut b) = (node("a"), node("b"));
        let (_c, _client) = join(&a, Role::Client, T0);
        let (_d, _advisor) = join(&b, Role::Advisor, T0);
        pump(&mut a, &mut b, T0);
        assert!(a.hub.words("p", &key(), Role::Client, T0).is_some());

        // Heartbeats every few seconds keep the session live well past the remote TTL.
        let mut now = T0;
        while now < T0 + 4 * REMOTE_TTL_SECS {
            now += 1;
            a.hub.tick(now);
            b.hub.tick(now);
            pump(&mut a, &mut b, now);
        }
        assert!(a.hub.words("p", &key(), Role::Client, now).is_some());

        // B dies: it says nothing more, and A forgets its advisor after the TTL.
        let dead_at = now;
        while now < dead_at + REMOTE_TTL_SECS {
            now += 1;
            a.hub.tick(now);
            while a.out.try_recv().is_ok() {}
        }
        assert!(a.hub.words("p", &key(), Role::Client, now).is_none());
    }

    #[test]
    fn a_node_without_a_socket_of_the_pair_answers_words_and_checks() {
        let (mut a, mut b, mut c) = (node("a"), node("b"), node("c"));
        let (client_socket, _client) = join(&a, Role::Client, T0);
        let (advisor_socket, mut advisor) = join(&b, Role::Advisor, T0);
        pump_all(&mut [&mut a, &mut b, &mut c], T0);
        let on_a = a.hub.words("p", &key(), Role::Client, T0).unwrap();
        // C serves the client's HTTP requests (a load balancer sent them there).
        let on_c = c.hub.words("p", &key(), Role::Client, T0).unwrap();
        assert_eq!((on_a.say, on_a.expect), (on_c.say, on_c.expect));
        assert!(
            c.hub
                .check("p", &key(), Role::Client, on_c.expect, T0, 4)
                .unwrap()
                .matched
        );
        drain(&mut advisor);
        assert!(
            !c.hub
                .check("p", &key(), Role::Client, "wrong", T0, 3)
                .unwrap()
                .matched
        );
        pump_all(&mut [&mut a, &mut b, &mut c], T0);
        let alerts = drain(&mut advisor);
        assert_eq!(of_type(&alerts, "alert").len(), 1, "{alerts:?}");
        // When the parties leave, C forgets the pair.
        b.hub.disconnect(advisor_socket, T0 + 1);
        a.hub.disconnect(client_socket, T0 + 1);
        pump_all(&mut [&mut a, &mut b, &mut c], T0 + 1);
        assert!(c.hub.words("p", &key(), Role::Client, T0 + 1).is_none());
        assert_eq!(c.hub.tracked_pairs(), 0);
    }

    #[test]
    fn a_removed_pair_is_forgotten_on_every_node() {
        let (mut a, mut b) = (node("a"), node("b"));
        let (_c, _client) = join(&a, Role::Client, T0);
        let (_d, mut advisor) = join(&b, Role::Advisor, T0);
        pump(&mut a, &mut b, T0);
        drain(&mut advisor);
        a.hub.forget_pair("p");
        pump(&mut a, &mut b, T0);
        let msgs = drain(&mut advisor);
        assert!(
            of_type(&msgs, "session")
                .iter()
                .any(|m| m["state"] == "ended"),
            "{msgs:?}"
        );
        assert!(b.hub.words("p", &key(), Role::Advisor, T0).is_none());
    }

    #[test]
    fn envelopes_round_trip_with_the_node_beside_the_message() {
        let envelope = Envelope {
            node: "n1".into(),
            relay: Relay::Presence {
                pair: "p".into(),
                role: Role::Client,
                sockets: 2,
                last_active: 7,
            },
        };
        let text = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::json!({"node": "n1", "kind": "presence", "pair": "p", "role": "client", "sockets": 2, "last_active": 7})
        );
        let back: Envelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back.relay, envelope.relay);
        assert!(serde_json::from_str::<Envelope>(r#"{"node":"n","kind":"words"}"#).is_err());
    }
}
