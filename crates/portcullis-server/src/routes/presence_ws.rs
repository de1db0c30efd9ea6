//! `GET /v1/sessions/current/presence`: the WebSocket that keeps a wallet session alive only
//! while its wallet answers.
//!
//! The client driver opens it with the session's access token as a DPoP request
//! (`Authorization: DPoP <token>` and a proof for `GET` on this URI, `http(s)://`, as the
//! server's public URL spells it). Every `[wallet] presence_interval_secs` the server sends a
//! challenge: a random value, the text the wallet signs (`portcullis_core::eth::presence::message`) and the
//! same challenge as a JWS signed by the server's token key (`typ` `presence+jwt`, its key
//! in the JWKS), so a driver can tell the server's challenges from anyone else's. The driver
//! has the wallet sign the text and answers. After `presence_misses` challenges in a row
//! went unanswered (the wallet was pulled, the driver died and the socket closed, or the
//! answers were forged) the session ends: its ReqNFT is burned, the wallet gets a fresh
//! AuthNFT, and the revocation reaches every node.
//!
//! Messages, all JSON text:
//! - server: `{"type":"challenge","challenge":c,"message":text,"statement":jws}`,
//!   `{"type":"accepted","challenge":c}`, `{"type":"refused","detail":…}` (the answer
//!   changed nothing), `{"type":"ended","reason":…}` before it closes with 4001;
//! - driver: `{"type":"answer","challenge":c,"signature":"0x…"}`.
//!
//! The watch runs on the node the socket reached; if the socket closes it keeps counting
//! misses until the session ends or is ended by a logout.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis_core::eth::presence::{Tick, Watch};
use portcullis_core::eth::{WalletSignature, parse_address};
use portcullis_store::model::SessionRecord;
use serde::Deserialize;
use serde_json::json;

use crate::auth::AuthSession;
use crate::error::ApiError;
use crate::services::ServiceError;
use crate::services::factors::wallet::siwe_rules;
use crate::services::wallet_sessions;
use crate::state::AppState;

/// Close code sent when the session ended.
const CLOSE_ENDED: u16 = 4001;
/// Largest message accepted from a driver.
const MAX_INCOMING: usize = 1024;

/// A driver's answer.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum FromDriver {
    Answer {
        challenge: String,
        signature: String,
    },
}

/// Upgrades to the presence channel of the caller's wallet session.
pub async fn presence(
    State(state): State<AppState>,
    auth: Result<AuthSession, ApiError>,
    upgrade: WebSocketUpgrade,
) -> Response {
    match prepare(&state, auth).await {
        Ok((record, watch)) => upgrade
            .max_message_size(MAX_INCOMING)
            .read_buffer_size(4 * 1024)
            .write_buffer_size(4 * 1024)
            .on_upgrade(move |socket| serve(state, record, watch, socket))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn prepare(
    state: &AppState,
    auth: Result<AuthSession, ApiError>,
) -> Result<(SessionRecord, Watch), ApiError> {
    let auth = auth?;
    let record = state
        .store
        .sessions
        .get(auth.session)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::Unauthenticated("the session has ended"))?;
    let binding = record.wallet.as_ref().ok_or(ServiceError::Forbidden(
        "only a wallet session has a presence channel",
    ))?;
    let wallet = parse_address(&binding.address)
        .map_err(|_| ServiceError::unexpected("session wallet address unreadable"))?;
    let watch = Watch::new(
        &siwe_rules(state).domain,
        &record.id.to_string(),
        wallet,
        state.config.wallet.presence_misses,
    );
    Ok((record, watch))
}

/// The server's signed copy of a challenge.
fn statement(state: &AppState, record: &SessionRecord, challenge: &str) -> Option<String> {
    let now = state.now();
    let payload = json!({
        "iss": state.issuer,
        "sid": record.id.to_string(),
        "challenge": challenge,
        "iat": now,
        "exp": now + state.config.wallet.presence_interval.as_secs().saturating_mul(2) as i64,
    });
    state.keys().sign_statement("presence+jwt", &payload).ok()
}

/// Whether the session is still live (not ended by a logout or elsewhere).
async fn still_live(state: &AppState, record: &SessionRecord) -> bool {
    matches!(
        state.store.sessions.get(record.id).await,
        Ok(Some(s)) if s.is_live(state.now())
    ) && match &record.wallet {
        Some(w) => wallet_sessions::req_token_live(state, &w.req_token)
            .await
            .unwrap_or(false),
        None => false,
    }
}

async fn serve(state: AppState, record: SessionRecord, mut watch: Watch, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let interval = state
        .config
        .wallet
        .presence_interval
        .max(Duration::from_secs(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    metrics::gauge!("portcullis_presence_sockets").increment(1.0);
    let reason = loop {
        tokio::select! {
            _ = ticker.tick() => {
                if !still_live(&state, &record).await {
                    break "session_ended";
                }
                let challenge = hex::encode(state.random::<16>());
                match watch.tick(challenge) {
                    Tick::End => {
                        if let Err(e) = wallet_sessions::end(&state, &record, "presence_lost").await {
                            tracing::error!(error = %e, session = %record.id, "presence: the session could not be ended");
                        }
                        tracing::info!(session = %record.id, "presence lost: wallet session ended");
                        break "presence_lost";
                    }
                    Tick::Ask(challenge) if open => {
                        let text = json!({
                            "type": "challenge",
                            "message": watch.message(&challenge),
                            "statement": statement(&state, &record, &challenge),
                            "challenge": challenge,
                        });
                        if sink.send(Message::Text(text.to_string().into())).await.is_err() {
                            open = false;
                        }
                    }
                    Tick::Ask(_) => {}
                }
            }
            incoming = stream.next(), if open => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = answer(&mut watch, text.as_str());
                    if sink.send(Message::Text(reply.to_string().into())).await.is_err() {
                        open = false;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => open = false,
                Some(Ok(_)) => {}
            },
        }
    };
    metrics::gauge!("portcullis_presence_sockets").decrement(1.0);
    if open {
        let ended = json!({"type": "ended", "reason": reason});
        let _ = sink.send(Message::Text(ended.to_string().into())).await;
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CLOSE_ENDED,
                reason: "the session ended".into(),
            })))
            .await;
    }
}

/// The reply to one driver message.
fn answer(watch: &mut Watch, text: &str) -> serde_json::Value {
    let refused = |detail: String| json!({"type": "refused", "detail": detail});
    let Ok(FromDriver::Answer {
        challenge,
        signature,
    }) = serde_json::from_str::<FromDriver>(text)
    else {
        return refused(
            "expected {\"type\":\"answer\",\"challenge\":…,\"signature\":…}".to_owned(),
        );
    };
    let signature = match signature.trim().parse::<WalletSignature>() {
        Ok(s) => s,
        Err(e) => return refused(e.to_string()),
    };
    match watch.answer(&challenge, &signature) {
        Ok(()) => json!({"type": "accepted", "challenge": challenge}),
        Err(e) => refused(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use k256::ecdsa::SigningKey;
    use portcullis_core::eth::{address_of, sign};

    use super::*;

    #[test]
    fn answers_are_parsed_strictly_and_only_the_wallet_s_is_accepted() {
        let key = SigningKey::from_bytes(&[9; 32].into()).unwrap_or_else(|_| unreachable!());
        let mut watch = Watch::new("auth.test", "s", address_of(key.verifying_key()), 2);
        let Tick::Ask(c) = watch.tick("c1".into()) else {
            unreachable!()
        };
        let good = sign(&key, watch.message(&c).as_bytes()).unwrap_or_else(|_| unreachable!());
        for bad in [
            "not json".to_owned(),
            json!({"type": "answer", "challenge": c}).to_string(),
            json!({"type": "answer", "challenge": c, "signature": "0x12"}).to_string(),
            json!({"type": "answer", "challenge": "c0", "signature": good.to_string()}).to_string(),
            json!({"type": "hello"}).to_string(),
        ] {
            assert_eq!(answer(&mut watch, &bad)["type"], "refused", "{bad}");
        }
        let ok = json!({"type": "answer", "challenge": c, "signature": good.to_string()});
        assert_eq!(answer(&mut watch, &ok.to_string())["type"], "accepted");
        assert_eq!(answer(&mut watch, &ok.to_string())["type"], "refused");
    }
}
