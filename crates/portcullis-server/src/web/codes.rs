//! Codes sent by text message or e-mail, on `/security`: add a phone number (a code is
//! texted to it; entering the code verifies the number and makes it a factor), or choose
//! codes by e-mail to the account's address (confirmed the same way). The services are the
//! API's ([`factors::enrol_sms`], [`factors::enrol_email`], [`factors::confirm`]); a change
//! that needs a recent sign-in shows the step-up forms ([`refusal`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::factor::FactorKind;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors::{self, FactorView};
use crate::state::AppState;
use crate::web::csrf::SessionForm;
use crate::web::factors::refusal;
use crate::web::layout::{self, csrf_field, escape};
use crate::web::session::PageSession;

#[derive(Deserialize)]
pub(crate) struct PhoneForm {
    phone: String,
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    factor: String,
    /// The factor's kind, as the confirmation form carried it (`sms` or `email_otp`).
    kind: String,
    code: String,
}

/// The `/security` forms that add a phone number or e-mail codes; `csrf` is the hidden
/// field, already HTML.
pub(crate) fn section(csrf: &str) -> String {
    format!(
        r#"<h2 id="codes">Codes by text message or e-mail</h2>
<form method="post" action="/security/phone" class="actions">{csrf}
<div><label for="phone">Mobile number, international format</label>
<input type="tel" id="phone" name="phone" autocomplete="tel" placeholder="+447700900123" pattern="\+[1-9][0-9]{{6,14}}" required aria-describedby="phone-hint"></div>
<button type="submit">Add a phone</button>
</form>
<p class="hint" id="phone-hint">Starts with + and the country code. We text a code to check the number.</p>
<form method="post" action="/security/email-codes">{csrf}<button type="submit" class="secondary">Send sign-in codes to my e-mail address</button></form>"#
    )
}

fn what(kind: FactorKind) -> (&'static str, &'static str) {
    if kind == FactorKind::Sms {
        ("Confirm your phone number", "6-digit code we texted you")
    } else {
        ("Confirm e-mail codes", "6-digit code we e-mailed you")
    }
}

fn confirm_page(
    session: &PageSession,
    status: StatusCode,
    factor: &str,
    kind: FactorKind,
    error: Option<&str>,
) -> Response {
    let (title, label) = what(kind);
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
    let body = format!(
        r#"<p role="status">We sent a code; it works for 5 minutes.</p>
<form method="post" action="/security/codes/confirm">{csrf}
<input type="hidden" name="factor" value="{factor}">
<input type="hidden" name="kind" value="{kind}">
<label for="code">{label}</label>
<input type="text" id="code" name="code" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" maxlength="6" required autofocus{invalid}>
{error}<button type="submit">Confirm</button>
</form>
<p><a href="/security">Cancel</a></p>"#,
        csrf = csrf_field(&session.csrf),
        factor = escape(factor),
        kind = kind.as_str(),
    );
    layout::page(status, title, &session.nav(), &body)
}

fn started(session: &PageSession, view: &FactorView) -> Response {
    confirm_page(session, StatusCode::OK, &view.id, view.kind, None)
}

fn label_of(label: &str) -> Option<String> {
    Some(label.trim().to_owned()).filter(|l| !l.is_empty())
}

/// `POST /security/phone`: texts a code to the number.
pub(crate) async fn add_phone(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<PhoneForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    let phone = f.phone.trim();
    match factors::enrol_sms(&state, &session.auth, phone, label_of(&f.label), &client).await {
        Ok(view) => started(session, &view),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/email-codes`: e-mails a code to the account's address.
pub(crate) async fn add_email(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<EmailForm>,
) -> Response {
    let session = &form.session;
    match factors::enrol_email(&state, &session.auth, label_of(&form.fields.label), &client).await {
        Ok(view) => started(session, &view),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/codes/confirm`.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<ConfirmForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    match factors::confirm(&state, &session.auth, &f.factor, f.code.trim(), &client).await {
        Ok(view) if view.kind == FactorKind::Sms => {
            Redirect::to("/security?notice=phone-added").into_response()
        }
        Ok(_) => Redirect::to("/security?notice=email-codes-added").into_response(),
        Err(e @ ServiceError::Invalid { .. }) => confirm_page(
            session,
            layout::status_of(&e),
            &f.factor,
            // Only a phone is confirmed as such; any other kind reads as e-mail codes.
            f.kind.parse().unwrap_or(FactorKind::EmailOtp),
            Some(&layout::error_text(&e)),
        ),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}
