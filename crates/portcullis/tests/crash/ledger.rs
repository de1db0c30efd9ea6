//! What the server acknowledged, as the load's tasks wrote it down, and the requests whose
//! answer the kill cut off (their writes may or may not have happened).

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use super::Answer;

/// An account registered through the API.
pub struct Registered {
    pub email: String,
    pub password: String,
    pub id: String,
    /// Its verification link was acknowledged (204).
    pub verified: bool,
    /// A login after a restart already proved it.
    pub proven: bool,
}

/// One session's refresh family, as the client knows it.
pub struct Family {
    /// The latest refresh token the server handed out.
    pub current: String,
    /// Tokens the server acknowledged rotating: each is spent.
    pub spent: Vec<String>,
    /// A rotation of `current` was sent and its answer lost: `current` may be spent.
    pub in_flight: bool,
}

/// One account's second factors.
#[derive(Default)]
pub struct Factors {
    /// Confirmed factors (their confirmation acknowledged, their removal not sent).
    pub present: BTreeSet<String>,
    /// Factors whose removal was acknowledged.
    pub removed: BTreeSet<String>,
    /// A confirmation or removal of this factor was sent and its answer lost.
    pub uncertain: Option<String>,
}

/// How much of each write the server acknowledged, over all cycles.
#[derive(Default, Debug, Clone)]
pub struct Totals {
    pub registrations: u64,
    pub verifications: u64,
    pub logins: u64,
    pub refreshes: u64,
    pub confirmations: u64,
    pub removals: u64,
    pub checks: u64,
    /// Requests whose answer the kill cut off.
    pub lost: u64,
    /// Requests that found the server dead (never sent).
    pub unsent: u64,
}

#[derive(Default)]
pub struct Book {
    pub registered: Vec<Registered>,
    pub families: Vec<Family>,
    /// Per factor account, in the order of the cast.
    pub factors: Vec<Factors>,
    pub totals: Totals,
}

/// The book, shared by the load's tasks.
#[derive(Default)]
pub struct Ledger(Mutex<Book>);

impl Ledger {
    pub fn lock(&self) -> MutexGuard<'_, Book> {
        // A task that panicked has already failed the test; its entries stay readable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A session the server handed out (login acknowledged); its index.
    pub fn opened(&self, refresh: String) -> usize {
        let mut book = self.lock();
        book.totals.logins += 1;
        book.families.push(Family {
            current: refresh,
            spent: Vec::new(),
            in_flight: false,
        });
        book.families.len() - 1
    }

    /// The body of an acknowledged answer; `None` (counted) when the kill cut it off or
    /// the server was already gone.
    pub fn acked(&self, answer: Answer) -> Option<Value> {
        let mut book = self.lock();
        match answer {
            Answer::Ack(body) => return Some(body),
            Answer::Lost => book.totals.lost += 1,
            Answer::Unsent => book.totals.unsent += 1,
        }
        None
    }

    /// One line on what was acknowledged so far.
    pub fn summary(&self) -> String {
        format!("{:?}", self.lock().totals)
    }

    /// Waits until every kind of write was acknowledged since `before` (so that the kill
    /// falls into a running load, not its start); fails after 30 s.
    pub async fn wait_until_busy(&self, before: &Totals) {
        let kinds = |t: &Totals| {
            [
                t.registrations,
                t.verifications,
                t.logins,
                t.refreshes,
                t.confirmations,
                t.removals,
                t.checks,
            ]
        };
        let start = std::time::Instant::now();
        loop {
            let now = self.lock().totals.clone();
            if kinds(&now).iter().zip(kinds(before)).all(|(n, b)| *n > b) {
                return;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the load did not get going in 30 s: {before:?} then {now:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
