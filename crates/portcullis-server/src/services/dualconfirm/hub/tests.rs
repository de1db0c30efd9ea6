//! The hub as the routes drive it: sockets join and leave, time passes, words are checked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failure is a test failure"
)]

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
        ..DualConfirmConfig::default()
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
fn a_mismatch_tells_the_other_side_what_the_count_left() {
    let (hub, _audit) = hub();
    let (_c, _client) = join(&hub, Role::Client, T0);
    let (_a, mut advisor) = join(&hub, Role::Advisor, T0);
    // The limiter counted the check in the store first; the hub reports what it left.
    let r = hub.check("p", &key(), Role::Client, "nope", T0, 2).unwrap();
    assert_eq!((r.matched, r.attempts_left), (false, 2));
    let alerts = drain(&mut advisor, "alert");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["attempts_left"], 2);
    assert_eq!(alerts[0]["by"], "client");
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
        hub.check("p", &key(), Role::Client, "anything", T0 + 181, 4) == Err(CheckRefusal::NotLive)
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

#[test]
fn a_flood_of_activity_reaches_the_other_side_as_a_handful_of_messages() {
    let (hub, _audit) = hub();
    let (client_socket, _client) = join(&hub, Role::Client, T0);
    let (_a, mut advisor) = join(&hub, Role::Advisor, T0);
    drain(&mut advisor, "presence");
    for i in 0..1000 {
        hub.activity(client_socket, T0 + i / 20);
    }
    let pushed = drain(&mut advisor, "presence");
    assert!(pushed.len() <= 3, "{} presence messages", pushed.len());
}

#[test]
fn a_socket_that_does_not_keep_up_is_closed_and_resumes_with_the_words() {
    let (hub, _audit) = hub();
    let (client_socket, _client) = join(&hub, Role::Client, T0);
    let (outbox, mut slow, closing) = Outbox::new();
    let m = Membership {
        pair: "p".into(),
        key: key(),
        role: Role::Advisor,
    };
    let slow_socket = hub.connect(vec![m], outbox, T0);
    // The advisor's console reads nothing while the words rotate window after window.
    let mut now = T0;
    while closing.borrow().is_none() {
        now += 60;
        hub.activity(client_socket, now);
        hub.activity(slow_socket, now);
        hub.tick(now);
        assert!(now < T0 + 60 * 2 * SOCKET_QUEUE as i64, "never closed");
    }
    assert_eq!(*closing.borrow(), Some(Closing::TooSlow));
    // Its queue holds what it had room for; the socket task closes it, and the console
    // reconnects: it gets the words of the live session at once.
    assert!(drain(&mut slow, "words").len() >= SOCKET_QUEUE / 2);
    hub.disconnect(slow_socket, now);
    let (_again, mut resumed) = join(&hub, Role::Advisor, now);
    assert_eq!(drain(&mut resumed, "words").len(), 1);
}
