//! The console's forms: `POST /dualconfirm/check` (a heard word, posted by the script, which
//! asks for JSON, or by the browser's own form, which gets a page) and `POST
//! /dualconfirm/accept` (a client accepts an invitation). Both go through the session form
//! (our origin and the CSRF token) and the same services as the JSON API.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::MAX_WORD;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::dualconfirm;
use crate::services::dualconfirm::pairs;
use crate::state::AppState;
use crate::web::csrf::SessionForm;
use crate::web::layout;
use crate::web::security::failed;
use crate::web::session::PageSession;

#[derive(Deserialize)]
pub(crate) struct CheckForm {
    #[serde(default)]
    pair: String,
    #[serde(default)]
    word: String,
}

/// An invitation to accept: `invitation` (an invitation id) or, for an invitation made
/// before invitations were kept apart from pairs, `pair`.
#[derive(Deserialize)]
pub(crate) struct PairForm {
    #[serde(default)]
    pair: String,
    #[serde(default)]
    invitation: String,
}

/// Whether the script posted the form (it asks for JSON; a browser's own form does not).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A failed service: JSON for the script, the failure page otherwise.
fn failure(session: &PageSession, json: bool, e: &ServiceError) -> Response {
    if json {
        return (
            layout::status_of(e),
            Json(json!({ "error": layout::error_text(e) })),
        )
            .into_response();
    }
    failed(session, e)
}

/// A refused check: JSON for the script, a page otherwise.
fn refusal(
    session: &PageSession,
    json: bool,
    status: StatusCode,
    text: &str,
    retry_after: Option<u64>,
) -> Response {
    if json {
        let mut response = (
            status,
            Json(json!({ "error": text, "retry_after": retry_after })),
        )
            .into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    verdict_page(session, status, text, true)
}

fn verdict_page(session: &PageSession, status: StatusCode, text: &str, alert: bool) -> Response {
    let line = if alert {
        layout::alert(Some(text))
    } else {
        layout::notice(Some(text))
    };
    layout::page(
        status,
        "DualConfirm",
        &session.nav(),
        &format!(r#"{line}<p><a href="/dualconfirm">Back to the console</a></p>"#),
    )
}

/// `POST /dualconfirm/check`: the word the signed-in party heard, for one of their pairs.
pub(crate) async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: SessionForm<CheckForm>,
) -> Response {
    let session = &form.session;
    let json = wants_json(&headers);
    let word = form.fields.word.trim();
    if word.is_empty() || word.chars().count() > MAX_WORD {
        return refusal(
            session,
            json,
            StatusCode::BAD_REQUEST,
            "Type the word you heard (at most 64 characters).",
            None,
        );
    }
    let (pair, side) = match pairs::own(&state, &session.auth, &form.fields.pair).await {
        Ok(found) => found,
        Err(ServiceError::NotFound) => {
            return refusal(
                session,
                json,
                StatusCode::NOT_FOUND,
                "This pairing no longer exists; reload the page.",
                None,
            );
        }
        Err(e) => return failure(session, json, &e),
    };
    let key = match pairs::key_of(&state, &pair) {
        Ok(key) => key,
        Err(e) => return failed(session, &e),
    };
    match dualconfirm::check(&state, &pair.id, &key, side, word).await {
        Ok(r) if json => Json(json!({
            "match": r.matched,
            "attempts_left": r.attempts_left,
        }))
        .into_response(),
        Ok(r) if r.matched => verdict_page(
            session,
            StatusCode::OK,
            "Match: that is the word the other side should say.",
            false,
        ),
        Ok(r) => verdict_page(
            session,
            StatusCode::OK,
            &format!(
                "That is not the word to expect: the other side has been alerted. {} check(s) left in this window.",
                r.attempts_left
            ),
            true,
        ),
        Err(ServiceError::Conflict(_)) => refusal(
            session,
            json,
            StatusCode::CONFLICT,
            "No live session: both sides must have the console open and be active.",
            None,
        ),
        Err(ServiceError::RateLimited { retry_after }) => refusal(
            session,
            json,
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many checks: wait {retry_after} seconds for the next words."),
            Some(retry_after),
        ),
        Err(e) if json => (
            layout::status_of(&e),
            Json(json!({ "error": layout::error_text(&e) })),
        )
            .into_response(),
        Err(e) => failed(session, &e),
    }
}

/// `POST /dualconfirm/accept`: the invited client accepts an advisor's invitation.
pub(crate) async fn accept(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<PairForm>,
) -> Response {
    let session = &form.session;
    let accepted = if form.fields.invitation.is_empty() {
        pairs::accept(&state, &session.auth, &form.fields.pair, &client).await
    } else {
        pairs::accept_invitation(&state, &session.auth, &form.fields.invitation, &client).await
    };
    match accepted {
        Ok(_) => Redirect::to("/dualconfirm?notice=accepted").into_response(),
        Err(ServiceError::NotFound) => verdict_page(
            session,
            StatusCode::NOT_FOUND,
            "This invitation no longer exists.",
            true,
        ),
        Err(e) => failed(session, &e),
    }
}
