//! DualConfirm: a client and an advisor on a phone call each say a word and check the word
//! the other says. Words are derived from a secret the pair shares with Portcullis and the
//! current time window, never stored; a caller who does not hold the pair's secret cannot
//! know this minute's words, however much else they know about the victim.

pub mod derive;
pub mod words;

pub use derive::{Check, PairSecret, Role, Schedule, WordPair};
