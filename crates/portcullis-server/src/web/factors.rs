//! The factor buttons of `/security`: set up an authenticator app (its QR code as a PNG
//! `data:` image, which the CSP allows, and its secret for typing by hand), confirm it with a
//! first code, remove a factor, and generate recovery codes (shown once). Changes that need
//! a recent authentication answer [`ServiceError::StepUpRequired`] with the step-up forms.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors::{self, TotpEnrolment};
use crate::state::AppState;
use crate::web::csrf::{NoFields, SessionForm};
use crate::web::layout::{self, csrf_field, escape};
use crate::web::security::{failed, overview};
use crate::web::session::PageSession;
use crate::web::stepup;

#[derive(Deserialize)]
pub(crate) struct EnrolForm {
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    factor: String,
    code: String,
}

#[derive(Deserialize)]
pub(crate) struct FactorRef {
    factor: String,
}

/// What a refused change shows: the step-up forms, the page with an alert, or an error page.
pub(crate) async fn refusal(
    state: &AppState,
    session: &PageSession,
    client: &ClientInfo,
    e: ServiceError,
) -> Response {
    match e {
        ServiceError::StepUpRequired { .. } => stepup::start(state, session, client).await,
        ServiceError::Invalid { .. } | ServiceError::NotFound | ServiceError::Conflict(_) => {
            let text = match &e {
                ServiceError::NotFound => "That factor does not exist (any more).".to_owned(),
                other => layout::error_text(other),
            };
            overview(state, session, layout::status_of(&e), None, Some(&text)).await
        }
        other => failed(session, &other),
    }
}

fn confirm_form(session: &PageSession, factor: &str, error: Option<&str>) -> String {
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
        r#"<form method="post" action="/security/totp/confirm">{csrf}
<input type="hidden" name="factor" value="{factor}">
<label for="code">6-digit code the app shows now</label>
<input type="text" id="code" name="code" class="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" maxlength="6" required autofocus{invalid}>
{error}<button type="submit">Confirm</button>
</form>"#,
        csrf = csrf_field(&session.csrf),
        factor = escape(factor),
    )
}

fn enrolment_page(session: &PageSession, e: &TotpEnrolment) -> Response {
    let body = format!(
        r#"<ol>
<li><p>Scan this QR code with your authenticator app (for example Google Authenticator, Aegis or 1Password):</p>
<img class="qr" src="{png}" width="220" height="220" alt="QR code that sets up the authenticator app; the same key is shown as text below">
<p>Or <a href="{uri}">open it in an app on this device</a>, or type this key by hand:</p>
<p><code class="secret" id="totp-secret">{secret}</code></p></li>
<li><p>Enter the code the app shows, to prove it is set up:</p>
{form}</li>
</ol>
<p><a href="/security">Cancel</a></p>"#,
        png = escape(&e.qr_png),
        uri = escape(&e.otpauth_uri),
        secret = escape(&e.secret),
        form = confirm_form(session, &e.id, None),
    );
    layout::page(
        StatusCode::OK,
        "Set up an authenticator app",
        &session.nav(),
        &body,
    )
}

/// `POST /security/totp`.
pub(crate) async fn enrol(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<EnrolForm>,
) -> Response {
    let session = &form.session;
    let label = Some(form.fields.label.trim().to_owned()).filter(|l| !l.is_empty());
    match factors::enrol_totp(&state, &session.auth, label, &client).await {
        Ok(enrolment) => enrolment_page(session, &enrolment),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/totp/confirm`.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<ConfirmForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    match factors::confirm(&state, &session.auth, &f.factor, f.code.trim(), &client).await {
        Ok(_) => Redirect::to("/security?notice=totp-enrolled").into_response(),
        Err(e @ ServiceError::Invalid { .. }) => {
            let body = format!(
                r#"<p>The QR code is not shown again. If the app does not have it, <a href="/security">start again</a>.</p>
{}"#,
                confirm_form(session, &f.factor, Some(&layout::error_text(&e)))
            );
            layout::page(
                layout::status_of(&e),
                "Set up an authenticator app",
                &session.nav(),
                &body,
            )
        }
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/factors/remove`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<FactorRef>,
) -> Response {
    let session = &form.session;
    match factors::remove(&state, &session.auth, &form.fields.factor, &client).await {
        Ok(()) => Redirect::to("/security?notice=factor-removed").into_response(),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// `POST /security/recovery-codes`.
pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<NoFields>,
) -> Response {
    let session = &form.session;
    match factors::regenerate_recovery_codes(&state, &session.auth, &client).await {
        Ok(codes) => {
            let items: Vec<String> = codes
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", escape(c)))
                .collect();
            let body = format!(
                r#"<p role="status">Here are your new recovery codes. Each works once, in place of a code from your authenticator app. Keep them somewhere safe, away from this device: <strong>they are not shown again</strong>, and the earlier codes no longer work.</p>
<ol class="codes" id="recovery-codes">{}</ol>
<p><a href="/security">I have stored them</a></p>"#,
                items.join("")
            );
            layout::page(StatusCode::OK, "Your recovery codes", &session.nav(), &body)
        }
        Err(e) => refusal(&state, session, &client, e).await,
    }
}
