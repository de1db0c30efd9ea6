//! What the server acknowledged, as the load's tasks wrote it down, and the requests whose
//! answer the kill cut off (their writes may or may not have happened).

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

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
#[derive(Default, Debug)]
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

    /// The request with this answer was lost.
    pub fn lost(&self) {
        self.lock().totals.lost += 1;
    }

    /// One line on what was acknowledged so far.
    pub fn summary(&self) -> String {
        format!("{:?}", self.lock().totals)
    }

    /// Fails unless every kind of write was acknowledged at least once per cycle, so that
    /// the checks did not pass for want of anything to check.
    pub fn assert_exercised(&self, cycles: usize) {
        let book = self.lock();
        let t = &book.totals;
        let n = u64::try_from(cycles).unwrap();
        for (what, count) in [
            ("registrations", t.registrations),
            ("verifications", t.verifications),
            ("logins", t.logins),
            ("refreshes", t.refreshes),
            ("factor confirmations", t.confirmations),
            ("factor removals", t.removals),
            ("DualConfirm checks", t.checks),
        ] {
            assert!(count >= n, "only {count} {what} in {cycles} cycles: {t:?}");
        }
    }
}
