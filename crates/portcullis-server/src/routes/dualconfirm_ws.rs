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

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_store::model::PairStatus;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::auth::{AuthSession, authenticate};
use crate::error::ApiError;
use crate::extract::bearer_or_access_cookie;
use crate::services::ServiceError;
use crate::services::dualconfirm::hub::wire::FromConsole;
use crate::services::dualconfirm::hub::{Membership, SOCKET_QUEUE};
use crate::services::dualconfirm::pairs;
use crate::state::AppState;

/// How long until unix second `exp`, seen at unix second `now` (whole seconds, so the wait
/// ends at most a second after `exp`, never before).
fn secs_until(exp: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(exp.saturating_sub(now)).unwrap_or(0))
}

/// Close code sent when the token expires or the session ends.
const CLOSE_REAUTHENTICATE: u16 = 4001;

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
    let mut memberships = Vec::new();
    for pair in pairs::visible_to(state, &auth).await? {
        let Some(role) = pairs::side_of(&pair, &auth) else {
            continue;
        };
        if pair.status != PairStatus::Active {
            continue;
        }
        memberships.push(Membership {
            key: pairs::key_of(state, &pair)?,
            pair: pair.id,
            role,
        });
    }
    Ok((auth, memberships))
}

async fn serve(
    state: AppState,
    auth: AuthSession,
    memberships: Vec<Membership>,
    socket: WebSocket,
) {
    let (tx, mut pushes) = mpsc::channel(SOCKET_QUEUE);
    let hub = &state.dualconfirm;
    let id = hub.connect(memberships, tx, state.now());
    metrics::gauge!("portcullis_dualconfirm_sockets").increment(1.0);
    let (mut sink, mut stream) = socket.split();
    // Woken by the token's expiry and by news of revocations, not by a per-socket timer:
    // ten thousand idle consoles must not mean ten thousand wake-ups a second.
    let mut revocations = state.cluster.revoked.subscribe();
    let expiry = tokio::time::sleep(secs_until(auth.claims.exp, state.now()));
    tokio::pin!(expiry);
    let close_reason = if state.cluster.revoked.contains(&auth.session) {
        Some("the session ended")
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
                        if FromConsole::parse(text.as_str()) == Some(FromConsole::Active) {
                            hub.activity(id, state.now());
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                    Some(Ok(_)) => {}
                },
                () = &mut expiry => break Some("the access token expired"),
                changed = revocations.changed() => {
                    if changed.is_err() {
                        break None;
                    }
                    if state.cluster.revoked.contains(&auth.session) {
                        break Some("the session ended");
                    }
                }
            }
        }
    };
    if let Some(reason) = close_reason {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CLOSE_REAUTHENTICATE,
                reason: reason.into(),
            })))
            .await;
    }
    hub.disconnect(id, state.now());
    metrics::gauge!("portcullis_dualconfirm_sockets").decrement(1.0);
}
