//! `/signin/enrol`: the pages of a sign-in whose role demands a second factor the account
//! lacks ([`login::enrolment`]). The restricted token lives in its own cookie, sent only to
//! these pages (`Path=/signin/enrol`, `HttpOnly`, `SameSite=Strict`) and never with the page
//! session's; the person sets up an authenticator app, and its first code completes the
//! sign-in into an ordinary page session.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::ChallengeError;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors::TotpEnrolment;
use crate::services::login::{LoginStep, PendingLogin, enrolment};
use crate::state::AppState;
use crate::web::cookies::{self, Cookies};
use crate::web::csrf::{NoFields, VisitorForm};
use crate::web::layout::{self, Nav, escape};

const TITLE: &str = "Set up a second factor";

/// Where a sign-in that must enrol goes: its cookie, then the enrolment page.
pub(crate) fn begin(state: &AppState, p: &PendingLogin) -> Response {
    let Some(offer) = &p.enrolment else {
        return expired();
    };
    let mut response = Redirect::to("/signin/enrol").into_response();
    let value = format!("{}.{}", p.challenge_id, offer.token);
    if let Some(cookie) = Cookies::of(state).enrolment(Some((&value, p.expires_in.max(1)))) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The challenge and restricted token of the cookie.
fn held(headers: &HeaderMap) -> Option<(ChallengeId, String)> {
    let value = cookies::read(headers, cookies::ENROLMENT)?;
    let (id, token) = value.rsplit_once('.')?;
    Some((id.parse().ok()?, token.to_owned()))
}

fn forget(state: &AppState, mut response: Response) -> Response {
    if let Some(cookie) = Cookies::of(state).enrolment(None) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn expired() -> Response {
    layout::page(
        StatusCode::GONE,
        "Sign-in expired",
        &Nav::Visitor,
        r#"<p>This sign-in attempt has expired or was used up. <a href="/signin">Start again</a>.</p>"#,
    )
}

fn failed(state: &AppState, e: &ServiceError) -> Response {
    match e {
        ServiceError::Unauthenticated(_)
        | ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted) => {
            forget(state, expired())
        }
        other => layout::message(
            layout::status_of(other),
            TITLE,
            &Nav::Visitor,
            &layout::error_text(other),
        ),
    }
}

const CANCEL: &str = r#"<form method="post" action="/signin/enrol/cancel">
<button type="submit" class="secondary">Cancel and sign out</button>
</form>"#;

/// `GET /signin/enrol`.
pub(crate) async fn show(headers: HeaderMap) -> Response {
    if held(&headers).is_none() {
        return expired();
    }
    let body = format!(
        r#"<p>Your password is right. Your role requires a second factor, and this account has none yet: set one up now to finish signing in.</p>
<form method="post" action="/signin/enrol/totp">
<button type="submit" autofocus>Set up an authenticator app</button>
</form>
{CANCEL}"#
    );
    layout::page(StatusCode::OK, TITLE, &Nav::Visitor, &body)
}

fn confirm_form(factor: &str, error: Option<&str>) -> String {
    let (invalid, error) = match error {
        Some(e) => (
            r#" aria-invalid="true" aria-describedby="code-error""#,
            format!(
                r#"<p class="error" role="alert" id="code-error">{}</p>"#,
                escape(e)
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        r#"<form method="post" action="/signin/enrol/confirm">
<input type="hidden" name="factor" value="{factor}">
<label for="code">6-digit code the app shows now</label>
<input type="text" id="code" name="code" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" maxlength="6" required autofocus{invalid}>
{error}<button type="submit">Confirm and sign in</button>
</form>"#,
        factor = escape(factor),
    )
}

fn totp_page(e: &TotpEnrolment) -> Response {
    let body = format!(
        r#"<ol>
<li><p>Scan this QR code with your authenticator app:</p>
<img class="qr" src="{png}" width="220" height="220" alt="QR code that sets up the authenticator app; the same key is shown as text below">
<p>Or type this key by hand:</p>
<p><code class="secret" id="totp-secret">{secret}</code></p></li>
<li><p>Enter the code the app shows; it finishes signing you in:</p>
{form}</li>
</ol>
{CANCEL}"#,
        png = escape(&e.qr_png),
        secret = escape(&e.secret),
        form = confirm_form(&e.id, None),
    );
    layout::page(StatusCode::OK, TITLE, &Nav::Visitor, &body)
}

/// `POST /signin/enrol/totp`.
pub(crate) async fn start_totp(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(NoFields {}): VisitorForm<NoFields>,
) -> Response {
    let Some((id, token)) = held(&headers) else {
        return expired();
    };
    match enrolment::start_totp(&state, id, &token, None, &client).await {
        Ok(e) => totp_page(&e),
        Err(e) => failed(&state, &e),
    }
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    factor: String,
    code: String,
}

/// `POST /signin/enrol/confirm`: the first code; success is an ordinary page session.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(f): VisitorForm<ConfirmForm>,
) -> Response {
    let Some((id, token)) = held(&headers) else {
        return expired();
    };
    match enrolment::confirm(&state, id, &token, &f.factor, &f.code, &client).await {
        Ok(LoginStep::Complete(tokens)) => {
            let mut response = Redirect::to("/security").into_response();
            Cookies::of(&state).set_tokens(response.headers_mut(), &state, &tokens);
            forget(&state, response)
        }
        Ok(LoginStep::Pending(_) | LoginStep::SteppedUp(_)) => forget(&state, expired()),
        Err(ServiceError::Challenge(ChallengeError::Rejected { attempts_left })) => {
            let text = format!("That code is not valid ({attempts_left} attempts left).");
            let body = format!(
                "<p>Enter the code your authenticator app shows now.</p>\n{}\n{CANCEL}",
                confirm_form(&f.factor, Some(&text))
            );
            layout::page(StatusCode::UNAUTHORIZED, TITLE, &Nav::Visitor, &body)
        }
        Err(e) => failed(&state, &e),
    }
}

/// `POST /signin/enrol/cancel`: abandons the sign-in and forgets its cookie.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(NoFields {}): VisitorForm<NoFields>,
) -> Response {
    if let Some((id, token)) = held(&headers) {
        // Whatever happened to the login, the browser forgets it.
        if let Err(e) = enrolment::abandon(&state, id, &token, &client).await {
            tracing::debug!(error = %e, "abandoning an enrolment at sign-in");
        }
    }
    forget(
        &state,
        Redirect::to("/signin?notice=signed-out").into_response(),
    )
}
