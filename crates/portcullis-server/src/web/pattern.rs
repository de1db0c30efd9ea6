//! Pattern OTP on the pages: the pattern pad every form that takes a pattern shows, and the
//! `/security` forms that enrol one (by e-mail, or by text to a phone number) and confirm it
//! by drawing the first pattern sent.
//!
//! The pad is progressive: the form has a plain text field for the dots (`3-7-12-1-5-9`),
//! which works without script; the pad script ([`SCRIPT`]) turns it into an SVG grid drawn
//! with a mouse or a finger (pointer events), or with the keyboard (arrows move, Enter or
//! Space takes a dot, Backspace undoes, Escape clears), and writes the dots into the field.
//! The services are the API's ([`factors::enrol_pattern`], [`factors::confirm`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::factor::pattern::PatternGrid;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors::{self, FactorView, PatternChannel};
use crate::state::AppState;
use crate::web::csrf::SessionForm;
use crate::web::factors::refusal;
use crate::web::layout::{self, csrf_field, escape};
use crate::web::session::PageSession;

/// Where the pad script is served.
pub(crate) const SCRIPT: &str = "/assets/pattern-pad.js";

const JS: &str = include_str!("../../assets/pattern-pad.js");

/// `GET /assets/pattern-pad.js`.
pub(crate) async fn script() -> Response {
    layout::script_response(JS)
}

/// The configured grid (validated at start-up; the default otherwise).
pub(crate) fn grid(state: &AppState) -> PatternGrid {
    state.config.pattern_otp.grid().unwrap_or_default()
}

/// What the text field of a pattern accepts: dot numbers separated by `-`, `,` or spaces.
pub(crate) const INPUT: &str = r#"type="text" inputmode="numeric" autocomplete="one-time-code" spellcheck="false" pattern="[0-9]+([ ,\-]+[0-9]+)*" maxlength="64""#;

/// The pad for the text field `input` (its id): the script draws it (`data-pattern-pad`).
pub(crate) fn pad(input: &str, grid: PatternGrid) -> String {
    format!(
        r#"<div class="pattern-pad" data-pattern-pad data-input="{input}" data-size="{n}" data-dots="{k}"></div>
<p class="hint" id="{input}-hint">Draw the {k} dots in the order we sent them. Dots are numbered 1 to {cells} row by row, from the top left. Keyboard: arrows move, Enter or Space takes a dot, Backspace undoes.</p>"#,
        input = escape(input),
        n = grid.size(),
        k = grid.dots(),
        cells = grid.cells(),
    )
}

#[derive(Deserialize)]
pub(crate) struct EnrolForm {
    /// `email` or `sms`.
    channel: String,
    #[serde(default)]
    phone: String,
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    factor: String,
    code: String,
}

/// The `/security` forms that set up a pattern OTP.
pub(crate) fn section(csrf: &str) -> String {
    format!(
        r#"<h2 id="pattern">Patterns to draw</h2>
<p>We send a few dot numbers; you connect those dots in order on a pattern pad.</p>
<form method="post" action="/security/pattern">{csrf}<input type="hidden" name="channel" value="email"><button type="submit" class="secondary">Send sign-in patterns to my e-mail address</button></form>
<form method="post" action="/security/pattern" class="actions">{csrf}<input type="hidden" name="channel" value="sms">
<div><label for="pattern-phone">Or text them to this mobile number</label>
<input type="tel" id="pattern-phone" name="phone" autocomplete="tel" placeholder="+447700900123" pattern="\+[1-9][0-9]{{6,14}}" required></div>
<button type="submit" class="secondary">Text me patterns</button>
</form>"#
    )
}

fn confirm_page(
    state: &AppState,
    session: &PageSession,
    status: StatusCode,
    factor: &str,
    error: Option<&str>,
) -> Response {
    let (invalid, error) = match error {
        Some(e) => (
            r#" aria-invalid="true" aria-describedby="pattern-error""#,
            format!(
                r#"<p class="error" role="alert" id="pattern-error">{}</p>"#,
                escape(e)
            ),
        ),
        None => ("", String::new()),
    };
    let body = format!(
        r#"<p role="status">We sent you a pattern; it works for 5 minutes.</p>
<form method="post" action="/security/pattern/confirm">{csrf}
<input type="hidden" name="factor" value="{factor}">
<label for="pattern-code">The dots we sent, in order</label>
<input {input} id="pattern-code" name="code" class="code" required autofocus{invalid}>
{pad}
{error}<button type="submit">Confirm</button>
</form>
<p><a href="/security">Cancel</a></p>"#,
        csrf = csrf_field(&session.csrf),
        factor = escape(factor),
        input = INPUT,
        pad = pad("pattern-code", grid(state)),
    );
    layout::page(status, "Confirm your pattern", &session.nav(), &body)
}

fn started(state: &AppState, session: &PageSession, view: &FactorView) -> Response {
    confirm_page(state, session, StatusCode::OK, &view.id, None)
}

/// `POST /security/pattern`: sends a first pattern by e-mail or text.
pub(crate) async fn enrol(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<EnrolForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    let channel = match f.channel.as_str() {
        "sms" => PatternChannel::Sms(f.phone.trim()),
        _ => PatternChannel::Email,
    };
    match factors::enrol_pattern(&state, &session.auth, channel, None, &client).await {
        Ok(view) => started(&state, session, &view),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/pattern/confirm`: the first pattern drawn back.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<ConfirmForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    match factors::confirm(&state, &session.auth, &f.factor, f.code.trim(), &client).await {
        Ok(_) => Redirect::to("/security?notice=pattern-added").into_response(),
        Err(e @ ServiceError::Invalid { .. }) => confirm_page(
            &state,
            session,
            layout::status_of(&e),
            &f.factor,
            Some(
                "That pattern is not right, expired or used up: draw it again, or start over for a new one.",
            ),
        ),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}
