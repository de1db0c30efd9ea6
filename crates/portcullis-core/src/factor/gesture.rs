//! Gesture passcodes: an ordered sequence of pointer events on a 3×3 pad, a secret the user
//! knows (a knowledge factor, like a password).
//!
//! # Canonical form
//!
//! The events, in order, separated by one space; each is `EVENT@CELL`, where `EVENT` is one
//! of `click`, `dblclick`, `rightclick`, `scrollup`, `scrolldown` and `CELL` is the pad's
//! cell `1`..`9` in reading order (1 is top left, 3 top right, 9 bottom right), e.g.
//! `click@5 dblclick@1 scrollup@9 rightclick@3 click@7 scrolldown@2`. Between 6 and 32
//! events. Timing is no part of it. Parsing accepts any ASCII whitespace between events and
//! yields the canonical form, which is what gets hashed (argon2id, by the caller).
//!
//! # Strength rules (enrolment only)
//!
//! A gesture is refused when it has fewer than three distinct events, when it repeats a
//! block of at most three events (`a b c a b c`), when it is one kind of event sweeping the
//! pad in a straight line (`click@1 click@2 … click@6`), or when it is one kind of event
//! tracing a shape from the known-weak list ([`WEAK_PATHS`]: the shapes people draw first on
//! pattern locks). At login a gesture is only parsed: a rule added later must not lock out
//! someone who enrolled before it.

use std::fmt;

use zeroize::Zeroizing;

/// Fewest events.
pub const MIN_EVENTS: usize = 6;
/// Most events.
pub const MAX_EVENTS: usize = 32;

/// The pointer events of the alphabet, by their canonical names.
pub const EVENTS: [&str; 5] = ["click", "dblclick", "rightclick", "scrollup", "scrolldown"];

/// Cell paths that one kind of event may not trace, and their reverses: borders, letters and
/// full sweeps people choose first.
pub const WEAK_PATHS: &[&[u8]] = &[
    &[1, 2, 3, 4, 5, 6, 7, 8, 9],
    &[1, 4, 7, 2, 5, 8, 3, 6, 9],
    &[1, 2, 3, 6, 9, 8, 7, 4],
    &[1, 4, 7, 8, 9, 6, 3, 2],
    &[1, 2, 3, 6, 9, 8, 7, 4, 1],
    &[1, 2, 3, 5, 7, 8, 9],
    &[1, 4, 7, 8, 9],
    &[1, 2, 3, 6, 9],
    &[7, 4, 1, 5, 9, 6, 3],
    &[1, 5, 9, 3, 5, 7],
    &[3, 2, 1, 4, 7, 8, 9],
    &[1, 4, 7, 5, 3, 6, 9],
];

/// Why a gesture was refused. The messages are shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GestureError {
    /// A token that is not `EVENT@CELL` of the alphabet.
    #[error(
        "each event must be EVENT@CELL with EVENT one of click, dblclick, rightclick, scrollup, scrolldown and CELL 1 to 9"
    )]
    Malformed,
    /// Fewer than [`MIN_EVENTS`] events.
    #[error("a gesture needs at least 6 events")]
    TooShort,
    /// More than [`MAX_EVENTS`] events.
    #[error("a gesture has at most 32 events")]
    TooLong,
    /// Fewer than three distinct events.
    #[error("the gesture repeats the same event or two: use at least three different ones")]
    TooRepetitive,
    /// A repeated block of at most three events.
    #[error("the gesture repeats a short block of events: vary it")]
    Periodic,
    /// One kind of event in a straight sweep or a shape of the weak list.
    #[error("the gesture is a common shape of one kind of event: mix kinds of events or cells")]
    CommonShape,
}

/// One event: its kind (an index into [`EVENTS`]) and its cell (1..=9).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    kind: u8,
    cell: u8,
}

/// A parsed gesture in canonical form. A secret: `Debug` hides it and the form is wiped when
/// dropped.
pub struct Gesture {
    events: Vec<Event>,
    canonical: Zeroizing<String>,
}

impl fmt::Debug for Gesture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gesture(..)")
    }
}

impl Gesture {
    /// Parses a gesture: 6..=32 events of the alphabet, separated by whitespace.
    ///
    /// # Errors
    /// [`GestureError::Malformed`], [`GestureError::TooShort`] or [`GestureError::TooLong`].
    pub fn parse(input: &str) -> Result<Self, GestureError> {
        let mut events = Vec::new();
        for token in input.split_ascii_whitespace() {
            if events.len() == MAX_EVENTS {
                return Err(GestureError::TooLong);
            }
            events.push(parse_event(token)?);
        }
        if events.len() < MIN_EVENTS {
            return Err(GestureError::TooShort);
        }
        let mut canonical = Zeroizing::new(String::with_capacity(events.len() * 12));
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                canonical.push(' ');
            }
            canonical.push_str(EVENTS[usize::from(e.kind)]);
            canonical.push('@');
            canonical.push(char::from(b'0' + e.cell));
        }
        Ok(Self { events, canonical })
    }

    /// Parses a gesture to enrol, applying the strength rules too.
    ///
    /// # Errors
    /// Those of [`Gesture::parse`], then the first strength rule broken.
    pub fn parse_new(input: &str) -> Result<Self, GestureError> {
        let gesture = Self::parse(input)?;
        gesture.check_strength()?;
        Ok(gesture)
    }

    /// The canonical form, the secret to hash.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Never true: a parsed gesture has at least [`MIN_EVENTS`] events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn check_strength(&self) -> Result<(), GestureError> {
        let e = &self.events;
        let mut distinct = e.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 3 {
            return Err(GestureError::TooRepetitive);
        }
        if (1..=3).any(|p| (p..e.len()).all(|i| e[i] == e[i - p])) {
            return Err(GestureError::Periodic);
        }
        if e.iter().all(|x| x.kind == e[0].kind) {
            let cells: Vec<u8> = e.iter().map(|x| x.cell).collect();
            let step = i16::from(cells[1]) - i16::from(cells[0]);
            let straight = cells
                .windows(2)
                .all(|w| i16::from(w[1]) - i16::from(w[0]) == step);
            let weak = WEAK_PATHS
                .iter()
                .any(|path| cells == *path || cells.iter().rev().copied().eq(path.iter().copied()));
            if straight || weak {
                return Err(GestureError::CommonShape);
            }
        }
        Ok(())
    }
}

fn parse_event(token: &str) -> Result<Event, GestureError> {
    let (name, cell) = token.split_once('@').ok_or(GestureError::Malformed)?;
    let kind = EVENTS
        .iter()
        .position(|e| *e == name)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or(GestureError::Malformed)?;
    let cell = match cell.as_bytes() {
        [d @ b'1'..=b'9'] => d - b'0',
        _ => return Err(GestureError::Malformed),
    };
    Ok(Event { kind, cell })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "click@5 dblclick@1 scrollup@9 rightclick@3 click@7 scrolldown@2";

    #[test]
    fn parsing_yields_the_canonical_form() {
        let g = Gesture::parse(&format!("  {}\n", GOOD.replace(' ', "\t "))).unwrap();
        assert_eq!(g.canonical(), GOOD);
        assert_eq!(g.len(), 6);
        assert_eq!(format!("{g:?}"), "Gesture(..)");
        assert!(Gesture::parse_new(GOOD).is_ok());
    }

    #[test]
    fn malformed_events_and_bad_lengths_are_refused() {
        for bad in [
            "click@0 click@1 click@2 click@3 click@4 click@5",
            "click@10 click@1 click@2 click@3 click@4 click@5",
            "tap@1 click@1 click@2 click@3 click@4 click@5",
            "Click@1 click@1 click@2 click@3 click@4 click@5",
            "click1 click@1 click@2 click@3 click@4 click@5",
            "click@ click@1 click@2 click@3 click@4 click@5",
        ] {
            assert_eq!(
                Gesture::parse(bad).unwrap_err(),
                GestureError::Malformed,
                "{bad}"
            );
        }
        assert_eq!(
            Gesture::parse("click@1 click@2 click@3 click@4 click@5").unwrap_err(),
            GestureError::TooShort
        );
        assert_eq!(Gesture::parse("").unwrap_err(), GestureError::TooShort);
        let long = vec!["click@1"; 33].join(" ");
        assert_eq!(Gesture::parse(&long).unwrap_err(), GestureError::TooLong);
        assert!(Gesture::parse(&vec!["click@1"; 32].join(" ")).is_ok());
    }

    #[test]
    fn weak_gestures_are_refused_at_enrolment_with_their_reason() {
        let table = [
            (
                "click@1 click@1 click@1 click@1 click@1 click@1",
                GestureError::TooRepetitive,
            ),
            (
                "click@1 click@2 click@1 click@2 click@1 click@2",
                GestureError::TooRepetitive,
            ),
            (
                "click@1 dblclick@2 scrollup@3 click@1 dblclick@2 scrollup@3",
                GestureError::Periodic,
            ),
            (
                "click@1 click@2 click@3 click@4 click@5 click@6",
                GestureError::CommonShape,
            ),
            (
                "scrollup@9 scrollup@8 scrollup@7 scrollup@6 scrollup@5 scrollup@4",
                GestureError::CommonShape,
            ),
            (
                "dblclick@1 dblclick@4 dblclick@7 dblclick@8 dblclick@9 dblclick@6 dblclick@3 dblclick@2",
                GestureError::CommonShape,
            ),
            (
                "click@9 click@8 click@7 click@4 click@1",
                GestureError::TooShort,
            ),
        ];
        for (input, reason) in table {
            assert_eq!(Gesture::parse_new(input).unwrap_err(), reason, "{input}");
        }
        // Only the strength rules make these weak: a login still parses them.
        assert!(Gesture::parse("click@1 click@2 click@3 click@4 click@5 click@6").is_ok());
        // The same shape with mixed kinds of events is accepted.
        assert!(
            Gesture::parse_new("click@1 dblclick@2 click@3 rightclick@4 click@5 click@6").is_ok()
        );
    }

    #[test]
    fn one_changed_event_is_another_gesture() {
        let a = Gesture::parse(GOOD).unwrap();
        let b = Gesture::parse(&GOOD.replace("scrollup@9", "scrolldown@9")).unwrap();
        let c = Gesture::parse(&GOOD.replace("scrollup@9", "scrollup@8")).unwrap();
        assert_ne!(a.canonical(), b.canonical());
        assert_ne!(a.canonical(), c.canonical());
    }
}
