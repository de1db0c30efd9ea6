//! Passkeys on the pages: adding one on `/security`, using one as the second factor in the
//! sign-in picker or for a step-up, and signing in without a password with a discoverable
//! credential.
//!
//! The step-up page offers a passkey too ([`step_up_form`]; its routes are [`stepup`]'s).
//!
//! WebAuthn needs `navigator.credentials`, so these forms (marked `data-passkey`) are driven
//! by the one same-origin script the binary serves ([`SCRIPT`]): it posts the form asking for
//! JSON, hands the options to the browser, and posts the browser's answer back. The forms
//! keep the pages' rules — a session's form carries its CSRF token ([`SessionForm`]), a
//! visitor's comes from our origin ([`VisitorForm`]) — and the answers go through the same
//! services as the API ([`passkeys`], [`login`]). Posted without the script (no JSON asked
//! for), the forms answer with a page instead: the step-up forms when adding a passkey needs
//! a fresh sign-in, otherwise a note that passkeys need the script.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::ChallengeError;
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::login::{self, Answer, LoginStep};
use crate::services::passkeys;
use crate::state::AppState;
use crate::web::cookies::Cookies;
use crate::web::csrf::{NoFields, SessionForm, VisitorForm};
use crate::web::layout::{self, Nav, escape};
use crate::web::security::failed;
use crate::web::signin::picker_url;
use crate::web::stepup;

/// Where the script is served.
pub(crate) const SCRIPT: &str = "/assets/passkey.js";

const JS: &str = include_str!("../../assets/passkey.js");

/// `GET /assets/passkey.js`.
pub(crate) async fn script() -> Response {
    layout::script_response(JS)
}

#[derive(Deserialize)]
pub(crate) struct LabelForm {
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct FinishForm {
    id: String,
    credential: String,
}

#[derive(Deserialize)]
pub(crate) struct ChallengeForm {
    challenge: String,
}

#[derive(Deserialize)]
pub(crate) struct AnswerForm {
    challenge: String,
    credential: String,
}

/// Whether the script posted the form (it asks for JSON; a browser's own form does not).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

pub(crate) fn json_error(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

pub(crate) fn api_error(e: &ServiceError) -> Response {
    json_error(layout::status_of(e), &layout::error_text(e))
}

fn needs_script(nav: &Nav<'_>) -> Response {
    layout::message(
        StatusCode::BAD_REQUEST,
        "Passkeys need JavaScript",
        nav,
        "Passkeys work through this site's own script, which did not run. Allow it (or use another browser), reload the page and try again.",
    )
}

/// The error line the script fills in, after the button.
const ERROR_SLOT: &str = r#"<p class="error" role="alert" data-passkey-error hidden></p>"#;

/// The "Add a passkey" form of `/security`; `csrf` is the hidden field, already HTML.
pub(crate) fn register_form(csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/security/passkey" class="actions" data-passkey="register">{csrf}
<div><label for="passkey-label">Name for the passkey (optional)</label>
<input type="text" id="passkey-label" name="label" maxlength="64" placeholder="Passkey"></div>
<button type="submit">Add a passkey</button>
{ERROR_SLOT}</form>"#
    )
}

/// The passwordless "Sign in with a passkey" form of `/signin`.
pub(crate) fn signin_form() -> String {
    format!(
        r#"<form method="post" action="/signin/passkey" data-passkey="signin">
<p>Or, without a password:</p>
<button type="submit" class="secondary">Sign in with a passkey</button>
{ERROR_SLOT}</form>"#
    )
}

/// The passkey choice of the factor picker for `challenge`.
pub(crate) fn picker_form(challenge: &str) -> String {
    format!(
        r#"<form method="post" action="/signin/passkey/options" data-passkey="assert">
<fieldset><legend>Passkey</legend>
<input type="hidden" name="challenge" value="{challenge}">
<p class="hint">Use the passkey on this device or your security key.</p>
<button type="submit">Use a passkey</button>
{ERROR_SLOT}</fieldset>
</form>"#,
        challenge = escape(challenge),
    )
}

/// The passkey choice of the step-up forms for `challenge`; `csrf` is the hidden field,
/// already HTML. The script posts it for request options, then the assertion to
/// `/security/step-up/passkey/answer` ([`stepup`]).
pub(crate) fn step_up_form(challenge: &str, csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/security/step-up/passkey/options" data-passkey="stepup">{csrf}
<fieldset><legend>Passkey</legend>
<input type="hidden" name="challenge" value="{challenge}">
<p class="hint">Use the passkey on this device or your security key.</p>
<button type="submit">Use a passkey</button>
{ERROR_SLOT}</fieldset>
</form>"#,
        challenge = escape(challenge),
    )
}

/// `POST /security/passkey`: creation options for the browser.
pub(crate) async fn enrol(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: SessionForm<LabelForm>,
) -> Response {
    let session = &form.session;
    let label = Some(form.fields.label.trim().to_owned()).filter(|l| !l.is_empty());
    let json = wants_json(&headers);
    match passkeys::start_registration(&state, &session.auth, label, &client).await {
        Ok(e) if json => Json(json!({ "id": e.id, "options": e.options })).into_response(),
        Ok(_) => needs_script(&session.nav()),
        Err(ServiceError::StepUpRequired { .. }) if json => (
            StatusCode::FORBIDDEN,
            Json(json!({ "step_up": true, "error": "This change needs a recent sign-in." })),
        )
            .into_response(),
        Err(ServiceError::StepUpRequired { .. }) => stepup::start(&state, session, &client).await,
        Err(e) if json => api_error(&e),
        Err(e) => failed(session, &e),
    }
}

/// `POST /security/passkey/finish`: the browser's attestation.
pub(crate) async fn finish(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<FinishForm>,
) -> Response {
    let f = &form.fields;
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(&f.credential) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "The browser's answer was not understood.",
        );
    };
    match passkeys::finish_registration(&state, &form.session.auth, &f.id, &credential, &client)
        .await
    {
        Ok(_) => Json(json!({ "redirect": "/security?notice=passkey-added" })).into_response(),
        Err(ServiceError::NotFound) => json_error(
            StatusCode::NOT_FOUND,
            "This passkey set-up has expired; reload the page and try again.",
        ),
        Err(e) => api_error(&e),
    }
}

fn options_reply(challenge: &str, options: Option<Value>) -> Response {
    match options {
        Some(options) => {
            Json(json!({ "challenge": challenge, "options": options })).into_response()
        }
        None => json_error(StatusCode::INTERNAL_SERVER_ERROR, "No passkey options."),
    }
}

/// `POST /signin/passkey`: request options for a passwordless sign-in.
pub(crate) async fn start_passwordless(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(NoFields {}): VisitorForm<NoFields>,
) -> Response {
    if !wants_json(&headers) {
        return needs_script(&Nav::Visitor);
    }
    match login::start_passwordless(&state, &client).await {
        Ok(LoginStep::Pending(p)) => options_reply(&p.challenge_id, p.options),
        Ok(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected sign-in step.",
        ),
        Err(e) => api_error(&e),
    }
}

/// `POST /signin/passkey/options`: request options for the passkey of a pending sign-in.
pub(crate) async fn second_factor_options(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(f): VisitorForm<ChallengeForm>,
) -> Response {
    if !wants_json(&headers) {
        return needs_script(&Nav::Visitor);
    }
    let Ok(id) = f.challenge.parse::<ChallengeId>() else {
        return expired();
    };
    match login::passkey_options(&state, id, None, &client).await {
        Ok(options) => options_reply(&f.challenge, Some(options)),
        Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(e) => api_error(&e),
    }
}

/// The answer to a sign-in whose challenge expired or was used up (the script goes back to
/// `/signin`).
pub(crate) fn expired() -> Response {
    (
        StatusCode::GONE,
        Json(json!({
            "error": "This sign-in attempt has expired or was used up; start again.",
            "redirect": "/signin",
        })),
    )
        .into_response()
}

/// `POST /signin/passkey/answer`: the browser's assertion, for either sign-in.
pub(crate) async fn answer(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<AnswerForm>,
) -> Response {
    let Ok(id) = f.challenge.parse::<ChallengeId>() else {
        return expired();
    };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(&f.credential) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "The browser's answer was not understood.",
        );
    };
    let answer = Answer::Passkey(Box::new(credential));
    let step = login::answer(&state, id, answer, None, &client).await;
    signin_reply(&state, step, "That passkey was not accepted")
}

/// The script's answer to a sign-in step its factor answered (a passkey, a wallet): where to
/// go next, with the session's cookies when the sign-in is complete; `refused` opens the
/// message for a wrong answer.
pub(crate) fn signin_reply(
    state: &AppState,
    step: Result<LoginStep, ServiceError>,
    refused: &str,
) -> Response {
    match step {
        Ok(LoginStep::Complete(tokens)) => {
            let mut response = Json(json!({ "redirect": "/security" })).into_response();
            Cookies::of(state).set_tokens(response.headers_mut(), state, &tokens);
            response
        }
        Ok(LoginStep::Pending(p)) => {
            Json(json!({ "redirect": picker_url(&p.challenge_id) })).into_response()
        }
        Ok(LoginStep::SteppedUp(_))
        | Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(ServiceError::Challenge(ChallengeError::Rejected { attempts_left })) => json_error(
            StatusCode::UNAUTHORIZED,
            &format!("{refused} ({attempts_left} attempts left)."),
        ),
        Err(e) => api_error(&e),
    }
}
