//! `GET /v1/dualconfirm/live`: the WebSocket that pushes each party its words at every
//! rotation, the other party's presence, session changes and mismatch alerts.
//!
//! Authenticated with the access token (`Authorization: Bearer`, or the pages' access cookie,
//! which a browser sends with the upgrade); a browser's `Origin` must be one of ours, so a
//! foreign page cannot ride the cookie. The socket closes (code 4001) when the token expires
//! or its session is revoked; the console reconnects with a fresh token and resumes: on
//! every connection the hub sends the current presence and, in a live session, the words.
//!
//! Messages from the console: `{"type": "active"}` on user activity (the inactivity clock).

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_store::model::PairStatus;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::extract::{AuthSession, authenticate};
use crate::services::dualconfirm::hub::{Membership, SOCKET_QUEUE};
use crate::services::dualconfirm::pairs;
use crate::state::AppState;
use crate::web::cookies::{self, Cookies};

/// Close code sent when the token expires or the session ends.
const CLOSE_REAUTHENTICATE: u16 = 4001;

/// Largest message accepted from a console.
const MAX_INCOMING: usize = 1024;

/// Origins a browser may open the socket from: the public URL (and `localhost` for a
/// loopback IP, as for passkeys), the WebAuthn origins and the CORS origins.
fn origin_allowed(state: &AppState, origin: &str) -> bool {
    let config = &state.config;
    let mut allowed: Vec<String> = Vec::new();
    if let Ok(public) = url::Url::parse(&state.public_url) {
        allowed.push(public.origin().ascii_serialization());
        if matches!(public.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
            let mut local = public.clone();
            if local.set_host(Some("localhost")).is_ok() {
                allowed.push(local.origin().ascii_serialization());
            }
        }
    }
    allowed.extend(
        config
            .webauthn
            .origins
            .iter()
            .chain(&config.cors.allowed_origins)
            .filter_map(|o| url::Url::parse(o).ok())
            .map(|u| u.origin().ascii_serialization()),
    );
    allowed.iter().any(|a| a == origin)
}

fn token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .or_else(|| cookies::read(headers, Cookies::of(state).access()))
}

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
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !origin_allowed(state, origin) {
            return Err(ApiError::Forbidden(
                "this origin may not open the DualConfirm feed",
            ));
        }
    }
    let token = token(state, headers).ok_or(ApiError::Unauthenticated(
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
            secret: pairs::open_secret(state, &pair)?,
            language: pair
                .language
                .parse()
                .unwrap_or(portcullis_core::dualconfirm::words::Language::En),
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
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let close_reason = loop {
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
                    let kind = serde_json::from_str::<serde_json::Value>(text.as_str())
                        .ok()
                        .and_then(|v| v["type"].as_str().map(str::to_owned));
                    if kind.as_deref() == Some("active") {
                        hub.activity(id, state.now());
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                Some(Ok(_)) => {}
            },
            _ = check.tick() => {
                let now = state.now();
                if now >= auth.claims.exp {
                    break Some("the access token expired");
                }
                if state.cluster.revoked.contains(&auth.session) {
                    break Some("the session ended");
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
