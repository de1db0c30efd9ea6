//! What one HTTP connection is doing, and the watchdog that closes it when its client is too
//! slow or has gone quiet.
//!
//! hyper's HTTP/1 header timer starts whenever the connection waits for a request head,
//! including the wait between keep-alive requests, so on its own it cannot tell "idle for a
//! minute" from "sent half a head ten seconds ago". The watchdog keeps the two apart, as
//! nginx's `keepalive_timeout` and `client_header_timeout` do:
//!
//! - a new connection must deliver its first request head within the header timeout;
//! - after a response, the next request's first byte must arrive within the idle timeout,
//!   and from that byte its head must be complete within the header timeout;
//! - while a request is in flight (from the head until the response body is written) the
//!   watchdog waits: handlers bound their own work.
//!
//! Requests are counted by [`InFlight`] guards (held by the response body until hyper drops
//! it), bytes by the connection's stream ([`Activity::saw_bytes`]). An upgraded connection
//! leaves hyper, and with it this watchdog, behind.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The two bounds the watchdog applies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// A request head must be complete within this.
    pub(crate) header: Duration,
    /// A keep-alive connection may wait this long for its next request.
    pub(crate) idle: Duration,
}

/// Why the watchdog closed a connection, as the timeout metric labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// A request head was not complete in time.
    Header,
    /// No request came in time.
    Idle,
}

impl Expired {
    /// The metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Expired::Header => "header",
            Expired::Idle => "idle",
        }
    }
}

/// The state of one connection, shared by its stream, its requests and its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline may have moved earlier or a request ended.
    changed: Notify,
}

#[derive(Debug)]
struct State {
    /// Requests whose response has not been written yet.
    in_flight: usize,
    /// Whether a request has been answered (after that, waiting is idling).
    answered: bool,
    /// When the connection started waiting for its next request.
    waiting_since: Instant,
    /// The first byte of the next request, once it came.
    head_started: Option<Instant>,
}

impl Activity {
    /// A connection that starts waiting for its first request now.
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                answered: false,
                waiting_since: Instant::now(),
                head_started: None,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream read bytes: while waiting after an answer, the next head has begun and
    /// now has the header timeout (earlier than the idle deadline, so the watchdog is woken).
    pub(crate) fn saw_bytes(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.answered && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request head was read: no deadline until its response is written.
    pub(crate) fn begin(self: &std::sync::Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.head_started = None;
        InFlight(std::sync::Arc::clone(self))
    }

    fn end(&self) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.answered = true;
            state.waiting_since = Instant::now();
            state.head_started = None;
        }
        drop(state);
        self.changed.notify_one();
    }

    /// When the connection must be closed if nothing changes, and why; none while a
    /// request is in flight.
    fn deadline(&self, limits: Timeouts) -> Option<(Instant, Expired)> {
        let state = self.state();
        if state.in_flight > 0 {
            return None;
        }
        Some(match (state.answered, state.head_started) {
            (false, _) => (state.waiting_since + limits.header, Expired::Header),
            (true, Some(first_byte)) => (first_byte + limits.header, Expired::Header),
            (true, None) => (state.waiting_since + limits.idle, Expired::Idle),
        })
    }

    /// Resolves when a deadline passes with no request in flight: the connection is then
    /// closed by dropping it (nothing is lost, since no response is being written).
    pub(crate) async fn expired(&self, limits: Timeouts) -> Expired {
        loop {
            match self.deadline(limits) {
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// One request in flight; dropped when hyper has written (or abandoned) its response.
#[derive(Debug)]
pub(crate) struct InFlight(std::sync::Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::Arc;

    const LIMITS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    /// How long after now the watchdog of `activity` fires, and why.
    async fn fires_after(activity: &Activity) -> (Duration, Expired) {
        let start = Instant::now();
        let why = activity.expired(LIMITS).await;
        (start.elapsed(), why)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_new_connection_gets_the_header_timeout() {
        let activity = Activity::new();
        activity.saw_bytes();
        assert_eq!(
            fires_after(&activity).await,
            (Duration::from_secs(10), Expired::Header)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_answer_idle_then_a_started_head_has_the_header_timeout() {
        let activity = Arc::new(Activity::new());
        drop(activity.begin());
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { fires_after(&activity).await }
        });
        tokio::time::sleep(Duration::from_secs(30)).await;
        activity.saw_bytes();
        let (after, why) = watchdog.await.unwrap();
        assert_eq!((after, why), (Duration::from_secs(40), Expired::Header));

        let quiet = Arc::new(Activity::new());
        drop(quiet.begin());
        assert_eq!(
            fires_after(&quiet).await,
            (Duration::from_secs(60), Expired::Idle)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_fires_while_a_request_is_in_flight() {
        let activity = Arc::new(Activity::new());
        let request = activity.begin();
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { fires_after(&activity).await }
        });
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!watchdog.is_finished());
        drop(request);
        let (after, why) = watchdog.await.unwrap();
        assert_eq!((after, why), (Duration::from_secs(660), Expired::Idle));
    }
}
