//! What the hub says and hears, as serde types, so each message is written in one place:
//!
//! - [`Feed`]: what a console's WebSocket receives, tagged by `type` (`words`, `presence`,
//!   `alert`, `session`). The pages' script (`web/dualconfirm.js`), the end-to-end tests and
//!   the bench read these fields, so their names and values are a contract.
//! - [`FromConsole`]: what a console sends (`{"type": "active"}` on user activity).
//! - [`Relay`]: what one node's hub tells the others over Redis, tagged by `kind`. It never
//!   holds a word: each node derives the words for its own sockets.

use portcullis_core::dualconfirm::words::WordList;
use portcullis_core::dualconfirm::{Role, Schedule};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::PairKey;

/// A message for a console, serialized once and shared by every socket it goes to.
pub type Push = Arc<str>;

/// The words of the current window for one party (also the answer of
/// `GET /v1/dualconfirm/pairs/{id}/words`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

impl Words {
    /// `role`'s words of `pair` at `now`: derived from the pair's key, never stored.
    pub fn derive(pair: &str, key: &PairKey, role: Role, schedule: &Schedule, now: i64) -> Self {
        let list = WordList::get(key.language);
        let window = schedule.window_at(now);
        let indices = key.secret.words(window, list.len());
        Self {
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
}

/// Whether a pair's session is live, as a presence message says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Both parties are connected and active: words exist.
    Live,
    /// Waiting for the other party (absent or inactive).
    Waiting,
}

/// What happened to a session, in a `session` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionChange {
    /// It ended.
    Ended,
}

/// Why a session ended, in a `session` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The pair was removed or its language changed: the console must reload its pairs.
    PairChanged,
}

/// Why an alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertReason {
    /// The other party checked a word that was not this party's.
    Mismatch,
}

/// A message on a console's WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Feed {
    /// The party's words of a window: at each rotation of a live session, and when it starts.
    Words(Words),
    /// The other party's presence and the session's state.
    Presence {
        /// Pair id.
        pair: String,
        /// The side described (the other party of the socket's).
        #[serde(with = "role_name")]
        party: Role,
        /// It has a console open on some node.
        connected: bool,
        /// It showed activity within the inactivity limit.
        active: bool,
        /// Whether words exist.
        session: SessionState,
    },
    /// The other party heard a wrong word.
    Alert {
        /// Pair id.
        pair: String,
        /// Why.
        reason: AlertReason,
        /// The side that checked.
        #[serde(with = "role_name")]
        by: Role,
        /// Checks the checking side has left in this window.
        attempts_left: u32,
    },
    /// The session changed for a reason other than presence.
    Session {
        /// Pair id.
        pair: String,
        /// What happened.
        state: SessionChange,
        /// Why.
        reason: EndReason,
    },
}

impl Feed {
    /// The `session` message that ends `pair`'s session because the pair changed.
    pub fn pair_changed(pair: &str) -> Self {
        Self::Session {
            pair: pair.to_owned(),
            state: SessionChange::Ended,
            reason: EndReason::PairChanged,
        }
    }

    /// The JSON text sent on the sockets.
    ///
    /// # Errors
    /// Serialization failed (it does not, for these types).
    pub fn to_push(&self) -> Result<Push, serde_json::Error> {
        serde_json::to_string(self).map(Push::from)
    }
}

/// A message from a console. Anything else (or unreadable) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromConsole {
    /// User activity (a key press, a click): the inactivity clock starts again.
    Active,
    /// A message this server does not know.
    #[serde(other)]
    Other,
}

impl FromConsole {
    /// Reads a console's text message; `None` when it is not a message at all.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// What one hub tells the others (see the hub's documentation). Never holds a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relay {
    /// The sender's sockets on one side of a pair (0: none any more) and their last activity.
    Presence {
        /// Pair id.
        pair: String,
        /// The side.
        #[serde(with = "role_name")]
        role: Role,
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
    /// A mismatch alert (the feed message's text) for the sockets of side `to`.
    Alert {
        /// Pair id.
        pair: String,
        /// The side alerted.
        #[serde(with = "role_name")]
        to: Role,
        /// The `alert` message of the feed.
        message: String,
    },
    /// The pair was removed or changed: its sockets stop hearing of it.
    Forget {
        /// Pair id.
        pair: String,
    },
}

/// A [`Role`] on the wire: `client` or `advisor`.
mod role_name {
    use portcullis_core::dualconfirm::Role;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        [Role::Client, Role::Advisor]
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &["client", "advisor"]))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failure is a test failure")]
mod tests {
    use super::*;
    use portcullis_core::dualconfirm::PairSecret;
    use portcullis_core::dualconfirm::words::Language;
    use serde_json::{Value, json};

    fn json_of(feed: &Feed) -> Value {
        serde_json::from_str(&feed.to_push().unwrap()).unwrap()
    }

    /// The messages keep the fields the pages' script and the tests read.
    #[test]
    fn feed_messages_keep_their_fields() {
        let presence = Feed::Presence {
            pair: "p".into(),
            party: Role::Advisor,
            connected: true,
            active: false,
            session: SessionState::Waiting,
        };
        let alert = Feed::Alert {
            pair: "p".into(),
            reason: AlertReason::Mismatch,
            by: Role::Client,
            attempts_left: 3,
        };
        let cases = [
            (
                presence,
                json!({"type": "presence", "pair": "p", "party": "advisor", "connected": true,
                    "active": false, "session": "waiting"}),
            ),
            (
                alert,
                json!({"type": "alert", "pair": "p", "reason": "mismatch", "by": "client",
                    "attempts_left": 3}),
            ),
            (
                Feed::pair_changed("p"),
                json!({"type": "session", "pair": "p", "state": "ended", "reason": "pair_changed"}),
            ),
        ];
        for (feed, expected) in cases {
            assert_eq!(json_of(&feed), expected, "{feed:?}");
        }
    }

    #[test]
    fn a_words_message_is_the_api_answer_tagged() {
        let key = PairKey {
            secret: PairSecret::from_bytes([9; 32]),
            language: Language::Fr,
        };
        let schedule = Schedule {
            window_secs: 60,
            grace_secs: 10,
        };
        let words = Words::derive("p", &key, Role::Client, &schedule, 1_800_000_030);
        let text = Feed::Words(words.clone()).to_push().unwrap();
        assert!(
            text.starts_with(r#"{"type":"words","pair":"p","role":"client""#),
            "{text}"
        );
        let mut expected = serde_json::to_value(&words).unwrap();
        expected["type"] = json!("words");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);
        assert_eq!(
            (words.window, words.rotates_at, words.language),
            (30_000_000, 1_800_000_060, "fr")
        );
        let advisor = Words::derive("p", &key, Role::Advisor, &schedule, 1_800_000_030);
        assert_eq!((advisor.say, advisor.expect), (words.expect, words.say));
    }

    #[test]
    fn consoles_say_they_are_active_and_nothing_else_counts() {
        let cases = [
            (r#"{"type":"active"}"#, Some(FromConsole::Active)),
            (r#"{"type":"active","at":1}"#, Some(FromConsole::Active)),
            (r#"{"type":"words"}"#, Some(FromConsole::Other)),
            (r#"{"kind":"active"}"#, None),
            ("active", None),
        ];
        for (text, expected) in cases {
            assert_eq!(FromConsole::parse(text), expected, "{text}");
        }
    }

    #[test]
    fn relays_name_roles_and_refuse_unknown_ones() {
        let relay = Relay::Alert {
            pair: "p".into(),
            to: Role::Advisor,
            message: "{}".into(),
        };
        let text = serde_json::to_string(&relay).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"kind": "alert", "pair": "p", "to": "advisor", "message": "{}"})
        );
        assert_eq!(serde_json::from_str::<Relay>(&text).unwrap(), relay);
        let unknown =
            r#"{"kind":"presence","pair":"p","role":"admin","sockets":1,"last_active":0}"#;
        assert!(serde_json::from_str::<Relay>(unknown).is_err());
    }
}
