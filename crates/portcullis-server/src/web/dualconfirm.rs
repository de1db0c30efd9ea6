//! `/dualconfirm`: the DualConfirm console of a signed-in advisor or client — on a phone
//! call, each side sees the word to say and the word the other side must say, checks the
//! word it heard, and is alerted when the other side heard a wrong one.
//!
//! The page is server-rendered: the account's pairs (the other party's name, never a word)
//! and a check form carrying the session's CSRF token. Everything live comes from the
//! WebSocket `/v1/dualconfirm/live` ([`crate::routes::dualconfirm_ws`]), which the browser
//! opens from the same origin with the access cookie; the one script that drives it
//! ([`SCRIPT`], no front-end build) renders every server string with `textContent`.
//!
//! The JSON API wants a bearer token, which a page cannot read (the cookies are `HttpOnly`),
//! so the script checks a heard word here, through the session form ([`SessionForm`]: our
//! origin and the CSRF token) and the same services as the API (`pairs::own`, then the
//! hub's check). When the socket closes because the access token expired (code 4001), the
//! script asks [`ping`] — like any signed-in request it passes the session middleware, which
//! refreshes the access cookie — and reconnects.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::dualconfirm::Role;
use portcullis_store::model::PairStatus;
use serde::Deserialize;
use serde_json::json;

use crate::config::DurationExt as _;
use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::dualconfirm;
use crate::services::dualconfirm::hub::CheckRefusal;
use crate::services::dualconfirm::pairs::{self, ADVISOR_ROLE, CLIENT_ROLE};
use crate::state::AppState;
use crate::web::csrf::SessionForm;
use crate::web::layout::{self, csrf_field, escape};
use crate::web::security::failed;
use crate::web::session::PageSession;

/// Where the script is served.
pub(crate) const SCRIPT: &str = "/assets/dualconfirm.js";

const JS: &str = include_str!("dualconfirm.js");

/// Longest heard word accepted (as the API).
const MAX_WORD: usize = 64;

/// `GET /assets/dualconfirm.js`.
pub(crate) async fn script() -> Response {
    let mut response = JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// The link on `/security`, for an account that can take part in DualConfirm.
pub(crate) fn security_link(session: &PageSession) -> &'static str {
    if session.auth.has_role(ADVISOR_ROLE) || session.auth.has_role(CLIENT_ROLE) {
        r#"<p><a href="/dualconfirm" data-test="dualconfirm-link">DualConfirm: confirm who is on a phone call</a></p>"#
    } else {
        ""
    }
}

#[derive(Deserialize)]
pub(crate) struct ConsoleQuery {
    #[serde(default)]
    notice: String,
}

#[derive(Deserialize)]
pub(crate) struct CheckForm {
    #[serde(default)]
    pair: String,
    #[serde(default)]
    word: String,
}

#[derive(Deserialize)]
pub(crate) struct PairForm {
    #[serde(default)]
    pair: String,
}

/// One of the account's pairs, as the console lists it.
struct Entry {
    id: String,
    side: Role,
    other: String,
    status: PairStatus,
}

async fn entries(state: &AppState, session: &PageSession) -> Result<Vec<Entry>, ServiceError> {
    let mut out = Vec::new();
    // An administrator sees every pair; the console lists only the account's own.
    for record in pairs::visible_to(state, &session.auth).await? {
        let Some(side) = pairs::side_of(&record, &session.auth) else {
            continue;
        };
        let view = pairs::view(state, &record).await?;
        let other = match side {
            Role::Advisor => view.client.name,
            Role::Client => view.advisor.name,
        };
        out.push(Entry {
            id: record.id,
            side,
            other,
            status: record.status,
        });
    }
    Ok(out)
}

fn party_button(e: &Entry, console: Role) -> String {
    let who = if e.side == console {
        escape(&e.other)
    } else {
        // An account with both roles: say which side the other party is on.
        let label = match e.side {
            Role::Advisor => "client",
            Role::Client => "advisor",
        };
        format!("{} ({label})", escape(&e.other))
    };
    format!(
        r#"<li><button type="button" class="dc-party" data-test="party" data-pair="{id}" data-side="{side}" data-name="{name}" aria-pressed="false">
<span class="dc-dot" data-presence="unknown" aria-hidden="true"></span><span class="dc-name">{who}</span> <span class="dc-state" data-test="party-presence">not connected</span></button></li>"#,
        id = escape(&e.id),
        side = e.side.as_str(),
        name = escape(&e.other),
    )
}

fn invitation(e: &Entry, csrf: &str) -> String {
    match e.side {
        Role::Client => format!(
            r#"<li><form method="post" action="/dualconfirm/accept" class="actions">{csrf}<input type="hidden" name="pair" value="{id}">
<span>{name} invited you.</span> <button type="submit" class="inline" data-test="accept">Accept</button></form></li>"#,
            id = escape(&e.id),
            name = escape(&e.other),
        ),
        Role::Advisor => format!(
            "<li>{} has not accepted your invitation yet.</li>",
            escape(&e.other)
        ),
    }
}

fn console_html(state: &AppState, session: &PageSession, list: &[Entry], console: Role) -> String {
    let csrf = csrf_field(&session.csrf);
    let active: Vec<String> = list
        .iter()
        .filter(|e| e.status == PairStatus::Active)
        .map(|e| party_button(e, console))
        .collect();
    let invited: Vec<String> = list
        .iter()
        .filter(|e| e.status == PairStatus::Invited)
        .map(|e| invitation(e, &csrf))
        .collect();
    let window = state.config.dualconfirm.window.as_secs_i64();
    let (intro, list_title, empty, waiting) = match console {
        Role::Advisor => (
            "When you call a client (or a client calls you), select them here. Each of you sees the word to say and the word to expect from the other; check the word your client says.",
            "Your clients",
            "No client is paired with you yet.",
            "Select the client you are on the call with.",
        ),
        Role::Client => (
            "When your advisor calls you (or you call them), say your word and check the word you hear. If the word is wrong, hang up: the caller may not be your advisor.",
            "Your advisor",
            "No advisor is paired with you yet.",
            "Select the advisor you are on the call with.",
        ),
    };
    let parties = if active.is_empty() {
        format!(r#"<p data-test="no-parties">{empty}</p>"#)
    } else {
        format!(r#"<ul class="dc-parties">{}</ul>"#, active.join("\n"))
    };
    let invitations = if invited.is_empty() {
        String::new()
    } else {
        format!(
            r#"<h2>Invitations</h2><ul class="dc-invitations">{}</ul>"#,
            invited.join("\n")
        )
    };
    format!(
        r#"<div id="dualconfirm" class="dc" data-test="console" data-console="{role}" data-window="" data-connects="0">
<p>{intro} The words change every {window} seconds.</p>
<div id="dc-alert" class="alert dc-alert" role="alert" data-test="alert" hidden></div>
<p id="dc-connection" class="hint" role="status" data-test="connection">Connecting…</p>
<h2>{list_title}</h2>
{parties}
<p id="dc-choose" class="hint" data-test="choose"{choose_hidden}>{waiting}</p>
<section id="dc-panel" class="dc-panel" data-test="panel" aria-labelledby="dc-panel-title" hidden>
<h2 id="dc-panel-title">On the call with <span data-test="party-name" id="dc-party-name"></span></h2>
<p id="dc-presence" data-test="presence"><span class="dc-dot" data-presence="unknown" aria-hidden="true"></span> <span id="dc-presence-text">Not connected</span></p>
<div class="dc-words" data-test="words">
<div class="dc-word dc-say"><span class="dc-label">Say:</span> <strong id="dc-say" data-test="say">—</strong></div>
<div class="dc-word dc-expect"><span class="dc-label">Expect to hear:</span> <strong id="dc-expect" data-test="expect">—</strong></div>
</div>
<p class="dc-countdown"><span id="dc-countdown" data-test="countdown">Waiting for both sides to be here.</span></p>
<div class="dc-bar" aria-hidden="true"><div id="dc-bar-fill" class="dc-bar-fill"></div></div>
<form method="post" action="/dualconfirm/check" id="dc-check" data-test="check-form">{csrf}<input type="hidden" name="pair" id="dc-pair" value="">
<label for="dc-heard">The word you heard</label>
<div class="dc-check-row"><input type="text" id="dc-heard" name="word" maxlength="{MAX_WORD}" autocomplete="off" autocapitalize="off" spellcheck="false" required data-test="heard">
<button type="submit" id="dc-check-button" data-test="check">Check</button></div>
</form>
<p id="dc-verdict" class="dc-verdict" role="status" data-test="verdict" hidden></p>
</section>
{invitations}
<noscript><p class="alert">The console needs this site's own script to show the words; allow it and reload the page.</p></noscript>
</div>
<script src="{SCRIPT}" defer></script>"#,
        role = console.as_str(),
        choose_hidden = if active.is_empty() { " hidden" } else { "" },
    )
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "accepted" => Some("Invitation accepted: your advisor is now in your list."),
        _ => None,
    }
}

/// `GET /dualconfirm`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: PageSession,
    Query(q): Query<ConsoleQuery>,
) -> Response {
    let list = match entries(&state, &session).await {
        Ok(list) => list,
        Err(e) => return failed(&session, &e),
    };
    // Advisors see the advisor console (their clients); clients the client console.
    let console = if session.auth.has_role(ADVISOR_ROLE) {
        Role::Advisor
    } else if session.auth.has_role(CLIENT_ROLE) {
        Role::Client
    } else {
        return layout::message(
            StatusCode::FORBIDDEN,
            "DualConfirm",
            &session.nav(),
            "DualConfirm is for advisors and their clients; this account is neither. Ask your administrator.",
        );
    };
    let body = format!(
        "{}{}",
        layout::notice(notice_text(&q.notice)),
        console_html(&state, &session, &list, console)
    );
    let mut response = layout::page(StatusCode::OK, "DualConfirm", &session.nav(), &body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /dualconfirm/ping`: 204 while the page session lives. The session middleware in
/// front of it refreshes an expired access cookie, which is what the console asks it for
/// before reopening the socket.
pub(crate) async fn ping(_session: PageSession) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response()
}

/// Whether the script posted the form (it asks for JSON; a browser's own form does not).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
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
        Err(e) if json => {
            return (
                layout::status_of(&e),
                Json(json!({ "error": layout::error_text(&e) })),
            )
                .into_response();
        }
        Err(e) => return failed(session, &e),
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
        Err(CheckRefusal::NotLive) => refusal(
            session,
            json,
            StatusCode::CONFLICT,
            "No live session: both sides must have the console open and be active.",
            None,
        ),
        Err(CheckRefusal::TooManyAttempts { retry_after }) => refusal(
            session,
            json,
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many checks: wait {retry_after} seconds for the next words."),
            Some(retry_after),
        ),
    }
}

/// `POST /dualconfirm/accept`: the invited client accepts an advisor's invitation.
pub(crate) async fn accept(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<PairForm>,
) -> Response {
    let session = &form.session;
    match pairs::accept(&state, &session.auth, &form.fields.pair, &client).await {
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
