//! The console page, `GET /dualconfirm`: the account's pairs (the other party's name, never a
//! word) as party buttons and invitations, and the panel and check form that the script fills
//! in. Only markup lives here; the live words come over the WebSocket.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use portcullis_core::dualconfirm::Role;
use portcullis_store::model::PairStatus;
use serde::Deserialize;

use super::{MAX_WORD, SCRIPT};
use crate::config::DurationExt as _;
use crate::services::ServiceError;
use crate::services::dualconfirm::pairs::{self, ADVISOR_ROLE, CLIENT_ROLE};
use crate::state::AppState;
use crate::web::layout::{self, csrf_field, escape};
use crate::web::security::failed;
use crate::web::session::PageSession;

#[derive(Deserialize)]
pub(crate) struct ConsoleQuery {
    #[serde(default)]
    notice: String,
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
