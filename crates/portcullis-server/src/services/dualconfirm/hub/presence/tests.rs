//! Presence, one table per story: each step is an event at a time and the effects it must
//! have, written as short sentences.

use super::*;
use crate::services::dualconfirm::hub::wire::Feed;
use portcullis_core::dualconfirm::Schedule;

const T0: i64 = 1_800_000_000; // a multiple of 60: a window boundary

#[derive(Clone)]
enum Step {
    Join(Role, u64),
    Active(Role),
    Check(Role),
    Leave(Role),
    Heard(&'static str, Relay),
    Remove,
    Withdraw,
    Tick,
    Resync(bool),
}
use Step::*;

fn presence(relaying: bool) -> Presence {
    let rules = Rules {
        schedule: Schedule {
            window_secs: 60,
            grace_secs: 10,
        },
        inactivity_secs: 180,
    };
    Presence::new(rules, relaying)
}

fn describe(feed: &Feed) -> String {
    match feed {
        Feed::Presence {
            party,
            connected,
            active,
            session,
            ..
        } => format!(
            "{} {},{},{:?}",
            party.as_str(),
            if *connected { "on" } else { "off" },
            if *active { "active" } else { "idle" },
            session
        ),
        other => format!("{other:?}"),
    }
}

/// An effect as a short sentence.
fn say(effect: &Effect) -> String {
    match effect {
        Effect::ToSide { to, message, .. } => {
            format!("{} hears {}", to.as_str(), describe(message))
        }
        Effect::ToSocket { socket, message } => {
            format!("socket {socket} hears {}", describe(message))
        }
        Effect::Words { rotation: true, .. } => "rotation words".into(),
        Effect::Words { .. } => "words".into(),
        Effect::WordsTo { socket, .. } => format!("socket {socket} words"),
        Effect::Ended { .. } => "ended".into(),
        Effect::Untracked { .. } => "untracked".into(),
        Effect::Relay(Relay::Presence { role, sockets, .. }) => {
            format!("relay {} sockets={sockets}", role.as_str())
        }
        Effect::Relay(Relay::Ask { .. }) => "relay ask".into(),
        Effect::Relay(Relay::Forget { .. }) => "relay forget".into(),
        Effect::Relay(Relay::Alert { .. }) => "relay alert".into(),
        Effect::Audit(note) => format!(
            "audit {} {}",
            note.event.trim_start_matches("dualconfirm."),
            note.detail["reason"].as_str().unwrap_or("")
        ),
    }
}

/// Runs `steps` on pair `p`; a step with expectations must have exactly those effects.
fn run(name: &str, relaying: bool, steps: &[(i64, Step, Option<&[&str]>)]) -> Presence {
    let mut presence = presence(relaying);
    let pair = PairId::from("p");
    for (i, (at, step, expected)) in steps.iter().enumerate() {
        let event = match step.clone() {
            Join(role, socket) => Event::Joined {
                pair: &pair,
                role,
                socket,
            },
            Active(role) => Event::Active { pair: "p", role },
            Check(role) => Event::Checked { pair: "p", role },
            Leave(role) => Event::Left { pair: "p", role },
            Heard(from, relay) => Event::Heard { from, relay },
            Remove => Event::Removed { pair: "p" },
            Withdraw => Event::Withdrawn { pair: "p" },
            Tick => Event::Tick,
            Resync(ask) => Event::Resync { ask },
        };
        let effects: Vec<String> = presence.handle(event, *at).iter().map(say).collect();
        if let Some(expected) = expected {
            assert_eq!(effects, *expected, "{name}, step {i}");
        }
    }
    presence
}

const C: Role = Role::Client;
const A: Role = Role::Advisor;

#[test]
fn a_session_is_live_while_both_sides_are_connected() {
    let p = run(
        "single node",
        false,
        &[
            (
                T0,
                Join(C, 1),
                Some(&[
                    "client hears advisor off,idle,Waiting",
                    "socket 1 hears advisor off,idle,Waiting",
                ]),
            ),
            (
                T0,
                Join(A, 2),
                Some(&[
                    "audit session_started both_present",
                    "client hears advisor on,active,Live",
                    "advisor hears client on,active,Live",
                    "words",
                    "socket 2 hears client on,active,Live",
                ]),
            ),
            (
                T0 + 1,
                Leave(A),
                Some(&[
                    "audit session_ended disconnected",
                    "client hears advisor off,idle,Waiting",
                ]),
            ),
            (T0 + 2, Leave(C), Some(&["untracked"])),
        ],
    );
    assert_eq!(p.tracked(), 0);
}

#[test]
fn inactivity_ends_the_session_and_activity_restarts_it() {
    let p = run(
        "inactivity",
        false,
        &[
            (T0, Join(C, 1), None),
            (T0, Join(A, 2), None),
            // Activity of a side that is active already changes nobody's view: no message.
            (T0 + 100, Active(C), Some(&[])),
            (T0 + 179, Tick, Some(&["rotation words"])),
            (
                T0 + 180,
                Tick,
                Some(&[
                    "audit session_ended inactive",
                    "client hears advisor on,idle,Waiting",
                    "advisor hears client on,active,Waiting",
                ]),
            ),
            (
                T0 + 200,
                Active(A),
                Some(&[
                    "audit session_started both_present",
                    "client hears advisor on,active,Live",
                    "advisor hears client on,active,Live",
                    "words",
                ]),
            ),
        ],
    );
    assert!(p.is_live("p"));
}

#[test]
fn words_rotate_once_per_window_and_checks_count_as_activity() {
    run(
        "rotation",
        false,
        &[
            (T0 - 1, Tick, Some(&[])),
            (T0 + 1, Join(C, 1), None),
            (T0 + 1, Join(A, 2), None),
            // The ticker sees the boundary after the session started in it: no second push.
            (T0 + 1, Tick, Some(&[])),
            (T0 + 60, Tick, Some(&["rotation words"])),
            (T0 + 61, Tick, Some(&[])),
            (T0 + 170, Check(C), Some(&[])),
            (T0 + 170, Check(A), Some(&[])),
            (T0 + 200, Tick, Some(&["rotation words"])),
        ],
    );
}

#[test]
fn removing_a_pair_ends_its_session_here_and_elsewhere() {
    let p = run(
        "removal",
        true,
        &[
            (
                T0,
                Join(C, 1),
                Some(&[
                    "client hears advisor off,idle,Waiting",
                    "socket 1 hears advisor off,idle,Waiting",
                    "relay client sockets=1",
                    "relay ask",
                ]),
            ),
            (T0, Join(A, 2), None),
            (
                T0 + 1,
                Remove,
                Some(&[
                    "audit session_ended pair_changed",
                    "ended",
                    "untracked",
                    "relay forget",
                ]),
            ),
            // Unknown here, the removal is still told to the other nodes.
            (T0 + 2, Remove, Some(&["relay forget"])),
            // Heard from another node, it is not told again.
            (T0 + 3, Join(C, 3), None),
            (
                T0 + 3,
                Heard("b", Relay::Forget { pair: "p".into() }),
                Some(&["ended", "untracked"]),
            ),
        ],
    );
    assert_eq!(p.tracked(), 0);
}

#[test]
fn parties_on_other_nodes_count_until_their_node_falls_silent() {
    let advisor_on_b = |sockets| Relay::Presence {
        pair: "p".into(),
        role: A,
        sockets,
        last_active: T0,
    };
    let p = run(
        "remote",
        true,
        &[
            (T0, Join(C, 1), None),
            (
                T0,
                Heard("b", advisor_on_b(1)),
                Some(&[
                    "audit session_started both_present",
                    "client hears advisor on,active,Live",
                    "words",
                ]),
            ),
            (
                T0 + 1,
                Heard("b", Relay::Ask { pair: "p".into() }),
                Some(&["relay client sockets=1"]),
            ),
            (
                T0 + 2,
                Resync(true),
                Some(&["relay client sockets=1", "relay ask"]),
            ),
            // The words of this window were pushed when the session started, and no
            // heartbeat is due yet; then B says nothing for the TTL.
            (T0 + 3, Tick, Some(&[])),
            (
                T0 + 2 + REMOTE_TTL_SECS,
                Tick,
                Some(&[
                    "relay client sockets=1",
                    "audit session_ended disconnected",
                    "client hears advisor off,idle,Waiting",
                ]),
            ),
            // A node that has none of the pair's sockets says so, and nothing changes.
            (T0 + 20, Heard("c", advisor_on_b(0)), Some(&[])),
            (
                T0 + 21,
                Leave(C),
                Some(&["relay client sockets=0", "untracked"]),
            ),
        ],
    );
    assert_eq!(p.tracked(), 0);
}

#[test]
fn a_node_that_only_heard_of_a_pair_knows_its_session_but_audits_nothing() {
    let on = |node, role| {
        Heard(
            node,
            Relay::Presence {
                pair: "p".into(),
                role,
                sockets: 1,
                last_active: T0,
            },
        )
    };
    let p = run(
        "bystander",
        true,
        &[(T0, on("a", C), Some(&[])), (T0, on("b", A), Some(&[]))],
    );
    assert!(p.is_live("p"));
    assert_eq!(p.tracked(), 1);
}

#[test]
fn a_flood_of_activity_tells_the_other_side_nothing_new() {
    let mut steps = vec![(T0, Join(C, 1), None), (T0, Join(A, 2), None)];
    // 1,000 reports of activity within the inactivity limit: no effect at all.
    for i in 0..1000 {
        steps.push((T0 + i / 10, Active(C), Some(&[] as &[&str])));
    }
    // Activity relayed to other nodes at most every heartbeat, never a message to a side.
    let p = run("flood", false, &steps);
    assert!(p.is_live("p"));
    run(
        "flood relayed",
        true,
        &[
            (T0, Join(C, 1), None),
            (T0, Join(A, 2), None),
            (T0 + 1, Active(C), Some(&[])),
            (
                T0 + HEARTBEAT_SECS,
                Active(C),
                Some(&["relay client sockets=1"]),
            ),
            (T0 + HEARTBEAT_SECS + 1, Active(C), Some(&[])),
        ],
    );
}

#[test]
fn a_console_joining_a_live_session_gets_the_words_at_once() {
    run(
        "second console",
        false,
        &[
            (T0, Join(C, 1), None),
            (T0, Join(A, 2), None),
            (
                T0 + 5,
                Join(C, 3),
                Some(&[
                    "client hears advisor on,active,Live",
                    "advisor hears client on,active,Live",
                    "socket 3 hears advisor on,active,Live",
                    "socket 3 words",
                ]),
            ),
            // A console that left and comes back while another of its side kept the session.
            (T0 + 6, Leave(C), None),
            (
                T0 + 7,
                Join(C, 4),
                Some(&[
                    "client hears advisor on,active,Live",
                    "advisor hears client on,active,Live",
                    "socket 4 hears advisor on,active,Live",
                    "socket 4 words",
                ]),
            ),
        ],
    );
}

#[test]
fn a_withdrawn_pair_ends_here_and_is_not_relayed() {
    let p = run(
        "withdrawn",
        true,
        &[
            (T0, Join(C, 1), None),
            (T0, Join(A, 2), None),
            (
                T0 + 1,
                Withdraw,
                Some(&["audit session_ended pair_changed", "ended", "untracked"]),
            ),
        ],
    );
    assert_eq!(p.tracked(), 0);
}

/// Another node's `last_active` is outside input (a message on Redis): the most negative
/// time is "never active" and must not overflow `now - last_active` (which, wrapped, made
/// the party active). Found by the `dualconfirm_ws` fuzz target.
#[test]
fn a_relayed_activity_at_any_time_is_judged_without_overflow() {
    let advisor_on_b = |last_active| {
        Heard(
            "b",
            Relay::Presence {
                pair: "p".into(),
                role: A,
                sockets: 1,
                last_active,
            },
        )
    };
    run(
        "ancient",
        true,
        &[
            (T0, Join(C, 1), None),
            (
                T0,
                advisor_on_b(i64::MIN),
                Some(&["client hears advisor on,idle,Waiting"]),
            ),
            (
                T0 + 1,
                advisor_on_b(T0),
                Some(&[
                    "audit session_started both_present",
                    "client hears advisor on,active,Live",
                    "words",
                ]),
            ),
        ],
    );
    let p = run(
        "future",
        true,
        &[(T0, Join(C, 1), None), (T0, advisor_on_b(i64::MAX), None)],
    );
    assert!(p.is_live("p"));
}
