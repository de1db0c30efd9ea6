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
use crate::services::dualconfirm::pairs;
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
    /// The other party's verified identity.
    other: String,
    /// The display name the other party chose for itself, when it differs.
    own_label: Option<String>,
    status: PairStatus,
}

async fn entries(state: &AppState, sides: &pairs::Sides) -> Result<Vec<Entry>, ServiceError> {
    let mut out = Vec::new();
    // An administrator sees every pair; the console lists only the account's own.
    for record in pairs::visible_to(state, sides).await? {
        let Some(side) = sides.side_of(&record) else {
            continue;
        };
        let view = pairs::view(state, &record).await?;
        let other = match side {
            Role::Advisor => view.client,
            Role::Client => view.advisor,
        };
        out.push(Entry {
            id: record.id,
            side,
            own_label: other.own_label.filter(|l| *l != other.name),
            other: other.name,
            status: record.status,
        });
    }
    Ok(out)
}

/// The other party's own label, marked as such (it vouches for nothing).
fn own_label(label: Option<&String>) -> String {
    label.map_or_else(String::new, |l| {
        format!(
            r#" <span class="dc-own-label hint" data-test="own-label">(calls themselves “{}”)</span>"#,
            escape(l)
        )
    })
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
<span class="dc-dot" data-presence="unknown" aria-hidden="true"></span><span class="dc-name">{who}</span>{label} <span class="dc-state" data-test="party-presence">not connected</span></button></li>"#,
        id = escape(&e.id),
        side = e.side.as_str(),
        name = escape(&e.other),
        label = own_label(e.own_label.as_ref()),
    )
}

/// An invitation the client may accept: `field` names what `id` is (`invitation`, or `pair`
/// for one made before invitations were kept apart from pairs).
fn acceptable(field: &str, id: &str, advisor: &str, csrf: &str) -> String {
    format!(
        r#"<li><form method="post" action="/dualconfirm/accept" class="actions">{csrf}<input type="hidden" name="{field}" value="{id}">
<span>{name} invited you.</span> <button type="submit" class="inline" data-test="accept">Accept</button></form></li>"#,
        id = escape(id),
        name = escape(advisor),
    )
}

/// The console's invitations: received (to accept) and, for an advisor, sent (by the address
/// invited: whether it is a client's shows only once accepted).
fn invitation_items(list: &[Entry], invitations: &pairs::Invitations, csrf: &str) -> Vec<String> {
    let legacy = list
        .iter()
        .filter(|e| e.status == PairStatus::Invited && e.side == Role::Client)
        .map(|e| acceptable("pair", &e.id, &e.other, csrf));
    let received = invitations
        .received
        .iter()
        .map(|i| acceptable("invitation", &i.id, &i.advisor.name, csrf));
    let sent = invitations.sent.iter().map(|i| {
        format!(
            r#"<li data-test="sent-invitation">You invited {}; not accepted yet.</li>"#,
            escape(&i.client_email)
        )
    });
    legacy.chain(received).chain(sent).collect()
}

fn console_html(
    state: &AppState,
    session: &PageSession,
    list: &[Entry],
    invitations: &pairs::Invitations,
    console: Role,
) -> String {
    let csrf = csrf_field(&session.csrf);
    let active: Vec<String> = list
        .iter()
        .filter(|e| e.status == PairStatus::Active)
        .map(|e| party_button(e, console))
        .collect();
    let invited = invitation_items(list, invitations, &csrf);
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
    let found = async {
        let sides = pairs::sides_of(&state, &session.auth).await?;
        let list = entries(&state, &sides).await?;
        let invitations = pairs::invitations(&state, &session.auth).await?;
        Ok::<_, ServiceError>((sides, list, invitations))
    };
    let (sides, list, invitations) = match found.await {
        Ok(found) => found,
        Err(e) => return failed(&session, &e),
    };
    // Advisors see the advisor console (their clients); clients the client console.
    let console = if sides.advisor {
        Role::Advisor
    } else if sides.client {
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
        console_html(&state, &session, &list, &invitations, console)
    );
    let mut response = layout::page(StatusCode::OK, "DualConfirm", &session.nav(), &body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
