//! `GET /v1/dualconfirm/live`: the WebSocket that pushes each party its words at every
//! rotation, the other party's presence, session changes and mismatch alerts.
//!
//! Authenticated with the access token (`Authorization: Bearer`, or the pages' access cookie,
//! which a browser sends with the upgrade); a browser's `Origin` must be one of ours (the
//! pages' own rule, [`crate::web::csrf::same_origin`]), so a foreign page cannot ride the
//! cookie. The socket closes (code 4001) when the token expires
//! or its session is revoked; the console reconnects with a fresh token and resumes: on
//! every connection the hub sends the current presence and, in a live session, the words.
//!
//! Messages from the console: `{"type": "active"}` on user activity (the inactivity clock).
//! At most one a second per socket reaches the hub ([`ActivityGate`]); the rest are dropped
//! here, without taking the hub's lock, and the other party hears of activity only when it
//! changes their view (presence decides).
//!
//! Besides 4001, the hub closes a socket with 4002 when its queue of messages was full (the
//! console did not keep up: rather than miss a word or an alert, it reconnects and gets the
//! current state) and with 4003 when its account no longer holds the role that made it a
//! side of a pair (the console reconnects and sees only the pairs it still belongs to).

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_store::model::PairStatus;
use std::collections::HashSet;
use std::time::Duration;

use crate::auth::{AuthSession, authenticate};
use crate::error::ApiError;
use crate::extract::bearer_or_access_cookie;
use crate::services::ServiceError;
use crate::services::dualconfirm;
use crate::services::dualconfirm::hub::wire::FromConsole;
use crate::services::dualconfirm::hub::{Closing, Membership, Outbox};
use crate::services::dualconfirm::pairs;
use crate::state::AppState;

/// How long until unix second `exp`, seen at unix second `now` (whole seconds, so the wait
/// ends at most a second after `exp`, never before).
fn secs_until(exp: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(exp.saturating_sub(now)).unwrap_or(0))
}

/// Close code sent when the token expires or the session ends.
const CLOSE_REAUTHENTICATE: u16 = 4001;

/// Close code sent when the socket's queue was full (see the module documentation).
const CLOSE_TOO_SLOW: u16 = 4002;

/// Close code sent when the account is no longer a side of a pair the socket joined.
const CLOSE_NOT_A_PARTY: u16 = 4003;

/// The close frame for the hub's reason to close a socket.
fn close_for(why: Closing) -> (u16, &'static str) {
    match why {
        Closing::TooSlow => (CLOSE_TOO_SLOW, "messages were not read in time; reconnect"),
        Closing::NotAParty => (CLOSE_NOT_A_PARTY, "no longer a party of a pair; reconnect"),
    }
}

/// Lets through at most one `active` message per [`ActivityGate::EVERY_MS`] of one socket:
/// the hub keeps activity in whole seconds, so more would change nothing but cost its lock.
#[derive(Debug, Default)]
struct ActivityGate {
    /// Unix milliseconds of the last message let through.
    last: Option<u64>,
}

impl ActivityGate {
    const EVERY_MS: u64 = 1000;

    /// Whether an `active` message at unix millisecond `now_ms` goes to the hub.
    fn admit(&mut self, now_ms: u64) -> bool {
        let due = self
            .last
            .is_none_or(|last| now_ms.saturating_sub(last) >= Self::EVERY_MS);
        if due {
            self.last = Some(now_ms);
        }
        due
    }
}

/// Largest message accepted from a console.
const MAX_INCOMING: usize = 1024;

/// Upgrades to the live feed of the caller's pairs.
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    match prepare(&state, &headers).await {
        Ok((auth, memberships)) => upgrade
            .max_message_size(MAX_INCOMING)
            // Messages are a few hundred bytes; the 128 KiB default read buffer per socket
            // would dominate the memory of 10,000 parties.
            .read_buffer_size(4 * 1024)
            .write_buffer_size(4 * 1024)
            .on_upgrade(move |socket| serve(state, auth, memberships, socket))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn prepare(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(AuthSession, Vec<Membership>), ApiError> {
    // The pages' cookie rides along with the upgrade, so a browser must come from our pages
    // (the rule the pages' forms follow).
    if !crate::web::csrf::same_origin(state, headers) {
        return Err(
            ServiceError::Forbidden("this origin may not open the DualConfirm feed").into(),
        );
    }
    let token = bearer_or_access_cookie(state, headers).ok_or(ServiceError::Unauthenticated(
        "a bearer access token is required",
    ))?;
    let auth = authenticate(state, &token).await?;
    let sides = pairs::sides_of(state, &auth).await?;
    let mut candidates = Vec::new();
    for pair in pairs::visible_to(state, &sides).await? {
        if let Some(role) = sides.side_of(&pair)
            && pair.status == PairStatus::Active
        {
            candidates.push((pair, role));
        }
    }
    // A pair whose other side no longer qualifies has no session to join (the watch would
    // end it again at once).
    let ids: Vec<&str> = candidates.iter().map(|(p, _)| p.id.as_str()).collect();
    let qualified: HashSet<String> = state
        .store
        .pairs
        .standing(&ids)
        .await
        .map_err(ServiceError::from)?
        .into_iter()
        .filter(|s| dualconfirm::withdrawn_sides(s).is_empty())
        .map(|s| s.id)
        .collect();
    let mut memberships = Vec::new();
    for (pair, role) in candidates {
        if qualified.contains(&pair.id) {
            memberships.push(Membership {
                key: pairs::key_of(state, &pair)?,
                pair: pair.id,
                role,
            });
        }
    }
    Ok((auth, memberships))
}

async fn serve(
    state: AppState,
    auth: AuthSession,
    memberships: Vec<Membership>,
    socket: WebSocket,
) {
    let (outbox, mut pushes, mut closing) = Outbox::new();
    let hub = &state.dualconfirm;
    let id = hub.connect(memberships, outbox, state.now());
    let mut gate = ActivityGate::default();
    metrics::gauge!("portcullis_dualconfirm_sockets").increment(1.0);
    let (mut sink, mut stream) = socket.split();
    // Woken by the token's expiry and by news of revocations, not by a per-socket timer:
    // ten thousand idle consoles must not mean ten thousand wake-ups a second.
    let mut revocations = state.cluster.revoked.subscribe();
    let expiry = tokio::time::sleep(secs_until(auth.claims.exp, state.now()));
    tokio::pin!(expiry);
    let close_reason = if state.cluster.revoked.contains(&auth.session) {
        Some((CLOSE_REAUTHENTICATE, "the session ended"))
    } else {
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    Some(text) => {
                        if sink.send(Message::Text(text.as_ref().into())).await.is_err() {
                            break None;
                        }
                    }
                    None => break None,
                },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if FromConsole::parse(text.as_str()) == Some(FromConsole::Active)
                            && gate.admit(state.clock.now_millis())
                        {
                            hub.activity(id, state.now());
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                    Some(Ok(_)) => {}
                },
                () = &mut expiry => break Some((CLOSE_REAUTHENTICATE, "the access token expired")),
                changed = revocations.changed() => {
                    if changed.is_err() {
                        break None;
                    }
                    if state.cluster.revoked.contains(&auth.session) {
                        break Some((CLOSE_REAUTHENTICATE, "the session ended"));
                    }
                }
                closed = closing.changed() => {
                    let why = *closing.borrow_and_update();
                    match (closed, why) {
                        (_, Some(why)) => break Some(close_for(why)),
                        (Err(_), None) => break None,
                        (Ok(()), None) => {}
                    }
                }
            }
        }
    };
    if let Some((code, reason)) = close_reason {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    hub.disconnect(id, state.now());
    metrics::gauge!("portcullis_dualconfirm_sockets").decrement(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_one_activity_a_second_through() {
        let mut gate = ActivityGate::default();
        let admitted = (0..1000u64)
            .filter(|i| gate.admit(1_800_000_000_000 + i * 2))
            .count();
        // 1,000 messages in 2 s: the first, and the first a second later.
        assert_eq!(admitted, 2);
        assert!(gate.admit(1_800_000_003_000));
        // A clock that steps back admits nothing until it is a second past the last.
        assert!(!gate.admit(1_800_000_002_000));
    }
}
