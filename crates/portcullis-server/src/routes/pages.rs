//! The two pages mail links open: e-mail verification and password reset.
//!
//! Opening a link (GET) never spends its token — mail scanners prefetch links — it shows a
//! form; submitting the form (POST) calls the same services as the JSON API. No scripts, no
//! third-party assets; the token in the form is the only capability, so there is no session
//! to forge requests against.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use portcullis_core::password::Password;
use serde::Deserialize;

use crate::extract::{ApiForm, ClientInfo};
use crate::services::{accounts, credentials};
use crate::state::AppState;
use crate::web::layout::{error_text, escape, status_of};

/// Routes of the pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify-email", get(verify_form).post(verify_submit))
        .route("/reset-password", get(reset_form).post(reset_submit))
        .route("/forgot-password", get(forgot_form).post(forgot_submit))
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot_form() -> Response {
    page(
        StatusCode::OK,
        "Forgot your password?",
        r#"<form method="post" action="/forgot-password">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" autocomplete="email" required>
<p>We will send a link to choose a new password, if an account uses this address.</p>
<button type="submit">Send the link</button>
</form>"#,
    )
}

/// Always the same answer, as the API's, so the page reveals no accounts either.
async fn forgot_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiForm(form): ApiForm<ForgotForm>,
) -> Response {
    match credentials::forgot(&state, &form.email, &client).await {
        Ok(()) => page(
            StatusCode::ACCEPTED,
            "Check your mail",
            "<p>If an account uses this address, a link to choose a new password is on its way. It is valid for one hour.</p>",
        ),
        Err(e) => page(
            status_of(&e),
            "Forgot your password?",
            &format!(
                r#"<p class="error" role="alert">{}</p>"#,
                escape(&error_text(&e))
            ),
        ),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
struct VerifyForm {
    token: String,
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Portcullis</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; }}
label {{ display: block; margin: 1rem 0 .25rem; font-weight: 600; }}
input[type=password] {{ width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }}
button {{ margin-top: 1rem; padding: .5rem 1rem; font-size: 1rem; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    );
    (status, Html(html)).into_response()
}

async fn verify_form(Query(q): Query<TokenQuery>) -> Response {
    page(
        StatusCode::OK,
        "Confirm your e-mail address",
        &format!(
            r#"<form method="post" action="/verify-email">
<input type="hidden" name="token" value="{}">
<p>Press the button to confirm that this address is yours.</p>
<button type="submit">Confirm my address</button>
</form>"#,
            escape(&q.token)
        ),
    )
}

async fn verify_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiForm(form): ApiForm<VerifyForm>,
) -> Response {
    match accounts::verify_email(&state, &form.token, &client).await {
        Ok(()) => page(
            StatusCode::OK,
            "E-mail address verified",
            "<p>Thank you: your address is verified and you can sign in.</p>",
        ),
        Err(e) => page(
            status_of(&e),
            "Verification failed",
            &format!(
                r#"<p class="error" role="alert">{}</p>"#,
                escape(&error_text(&e))
            ),
        ),
    }
}

fn reset_body(token: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<p class="error" role="alert" id="reset-error">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        r#"{error}<form method="post" action="/reset-password">
<input type="hidden" name="token" value="{}">
<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" maxlength="128" required aria-describedby="password-help">
<p id="password-help">At least 8 characters; a few unrelated words make a strong one.</p>
<button type="submit">Set new password</button>
</form>"#,
        escape(token)
    )
}

async fn reset_form(Query(q): Query<TokenQuery>) -> Response {
    page(
        StatusCode::OK,
        "Choose a new password",
        &reset_body(&q.token, None),
    )
}

async fn reset_submit(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiForm(form): ApiForm<ResetForm>,
) -> Response {
    match credentials::reset(
        &state,
        &form.token,
        Password::new(form.new_password),
        &client,
    )
    .await
    {
        Ok(()) => page(
            StatusCode::OK,
            "Password changed",
            "<p>Your password is changed and every session was signed out. Sign in with the new password.</p>",
        ),
        Err(e) => {
            let status = status_of(&e);
            page(
                status,
                "Choose a new password",
                &reset_body(&form.token, Some(&error_text(&e))),
            )
        }
    }
}
