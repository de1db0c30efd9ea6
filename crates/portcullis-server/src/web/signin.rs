//! `/signin`: the password first ([`login::start`]), then, for an account with a second
//! factor, a picker at `/signin/factor?challenge=…` that answers the same login challenge as
//! the API ([`login::answer`]) with a passkey, a code from an authenticator app or a recovery
//! code. A completed login becomes the page session's cookies and a redirect to `/security`.
//! The passkey forms (and the passwordless "Sign in with a passkey") are [`passkeys`]'; a
//! sign-in that must first enrol a second factor goes on at [`enrol`].

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::{ChallengeError, FactorKind};
use portcullis_core::password::Password;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::login::{self, Answer, LoginStep};
use crate::services::sessions::TokenResponse;
use crate::state::AppState;
use crate::web::challenge::{self, Remark, Target};
use crate::web::cookies::Cookies;
use crate::web::csrf::VisitorForm;
use crate::web::enrol;
use crate::web::layout::{self, Nav, escape};
use crate::web::passkeys;

#[derive(Deserialize)]
pub(crate) struct SigninQuery {
    #[serde(default)]
    notice: String,
}

#[derive(Deserialize)]
pub(crate) struct SigninForm {
    email: String,
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct ChallengeQuery {
    #[serde(default)]
    challenge: String,
}

#[derive(Deserialize)]
pub(crate) struct FactorForm {
    challenge: String,
    factor: String,
    code: String,
}

fn form(status: StatusCode, email: &str, error: Option<&str>, notice: Option<&str>) -> Response {
    let (invalid, described) = if error.is_some() {
        (
            r#" aria-invalid="true""#,
            r#" aria-describedby="signin-error""#,
        )
    } else {
        ("", "")
    };
    let error = error
        .map(|e| {
            format!(
                r#"<p class="alert" role="alert" id="signin-error">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"{notice}{error}<form method="post" action="/signin">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" value="{email}" autocomplete="username" required{invalid}{described}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{invalid}{described}>
<button type="submit">Sign in</button>
</form>
{passkey}
<p>No account yet? <a href="/signup">Create one</a>.</p>"#,
        notice = layout::notice(notice),
        email = escape(email),
        passkey = passkeys::signin_form(),
    );
    layout::page(status, "Sign in", &Nav::Visitor, &body)
}

/// `GET /signin`.
pub(crate) async fn show(Query(q): Query<SigninQuery>) -> Response {
    let notice = match q.notice.as_str() {
        "signed-out" => Some("You are signed out."),
        "session-ended" => Some("Your session has ended; sign in again."),
        _ => None,
    };
    form(StatusCode::OK, "", None, notice)
}

/// Sets the new session's cookies and goes to the security page.
fn signed_in(state: &AppState, tokens: &TokenResponse) -> Response {
    let mut response = Redirect::to("/security").into_response();
    Cookies::of(state).set_tokens(response.headers_mut(), state, tokens);
    response
}

pub(crate) fn picker_url(challenge: &str) -> String {
    format!(
        "/signin/factor?challenge={}",
        urlencoding::encode(challenge)
    )
}

/// `POST /signin`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<SigninForm>,
) -> Response {
    let email = f.email.trim();
    match login::start(&state, email, Some(Password::new(f.password)), &client).await {
        Ok(LoginStep::Complete(tokens)) => signed_in(&state, &tokens),
        Ok(LoginStep::Pending(p)) if p.enrolment.is_some() => enrol::begin(&state, &p),
        Ok(LoginStep::Pending(p)) => Redirect::to(&picker_url(&p.challenge_id)).into_response(),
        Ok(LoginStep::SteppedUp(_)) => expired(),
        Err(e) => {
            let text = match &e {
                ServiceError::InvalidCredentials
                | ServiceError::Challenge(ChallengeError::Rejected { .. }) => {
                    "The e-mail address or the password is not right.".to_owned()
                }
                other => layout::error_text(other),
            };
            form(layout::status_of(&e), email, Some(&text), None)
        }
    }
}

fn expired() -> Response {
    layout::page(
        StatusCode::GONE,
        "Sign-in expired",
        &Nav::Visitor,
        r#"<p>This sign-in attempt has expired or was used up. <a href="/signin">Start again</a>.</p>"#,
    )
}

async fn picker(
    state: &AppState,
    id: &str,
    status: StatusCode,
    remark: Option<Remark<'_>>,
) -> Response {
    let Ok(cid) = id.parse::<ChallengeId>() else {
        return expired();
    };
    let pending = match state.store.challenges.get(cid).await {
        Ok(Some((c, _))) if c.session.is_none() && c.expires_in(state.now()) > 0 => c,
        Ok(_) => return expired(),
        Err(e) => {
            let e = ServiceError::from(e);
            return layout::message(
                layout::status_of(&e),
                "Sign in",
                &Nav::Visitor,
                &layout::error_text(&e),
            );
        }
    };
    let target = Target {
        action: "/signin/factor",
        challenge: id,
        hidden: "",
        send: "/signin/factor/send",
        pattern: crate::web::pattern::grid(state),
        image: "/signin/factor/image",
    };
    let mut second = pending.remaining();
    second.retain(|k| *k != FactorKind::Password);
    let mut forms = challenge::forms(&target, &second, remark);
    if second.contains(&FactorKind::Passkey) {
        forms.insert(0, passkeys::picker_form(id));
    }
    if second.contains(&FactorKind::Wallet) {
        forms.insert(0, crate::web::wallet::picker_form(id));
    }
    if forms.is_empty() {
        forms.push(
            r#"<p>This account's second factor cannot be used on this page. <a href="/signin">Start again</a>.</p>"#
                .to_owned(),
        );
    }
    let minutes = (pending.expires_in(state.now()) + 59) / 60;
    let body = format!(
        r#"<p>Your password is right. Confirm it is you with one of these (within {minutes} min):</p>
{}
<p><a href="/signin">Cancel and start again</a></p>"#,
        forms.join("\n")
    );
    layout::page(status, "Confirm it is you", &Nav::Visitor, &body)
}

/// `GET /signin/factor?challenge=…`.
pub(crate) async fn show_factor(
    State(state): State<AppState>,
    Query(q): Query<ChallengeQuery>,
) -> Response {
    picker(&state, &q.challenge, StatusCode::OK, None).await
}

/// `POST /signin/factor`.
pub(crate) async fn submit_factor(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<FactorForm>,
) -> Response {
    // The password was answered on the first page: only second factors here.
    let answer = match challenge::answer(&f.factor, f.code) {
        Some(
            a @ (Answer::Totp(_)
            | Answer::RecoveryCode(_)
            | Answer::Sms(_)
            | Answer::EmailOtp(_)
            | Answer::PatternOtp(_)
            | Answer::Gesture(_)),
        ) => a,
        _ => return picker(&state, &f.challenge, StatusCode::BAD_REQUEST, None).await,
    };
    answer_second(&state, &client, &f.challenge, &f.factor, answer).await
}

/// Answers a second factor of the pending sign-in `challenge` (the picker's forms, and the
/// image passcode's upload) and shows where it leads.
pub(crate) async fn answer_second(
    state: &AppState,
    client: &ClientInfo,
    challenge: &str,
    factor: &str,
    answer: Answer,
) -> Response {
    let Ok(id) = challenge.parse::<ChallengeId>() else {
        return expired();
    };
    match login::answer(state, id, answer, None, client).await {
        Ok(LoginStep::Complete(tokens)) => signed_in(state, &tokens),
        Ok(LoginStep::Pending(p)) => Redirect::to(&picker_url(&p.challenge_id)).into_response(),
        Ok(LoginStep::SteppedUp(_))
        | Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(e) => {
            let text = match &e {
                ServiceError::Challenge(ChallengeError::Rejected { attempts_left }) => {
                    if crate::web::passcodes::has_form(factor.parse().unwrap_or(FactorKind::Totp)) {
                        format!("That is not right ({attempts_left} attempts left).")
                    } else {
                        format!("That code is not valid ({attempts_left} attempts left).")
                    }
                }
                other => layout::error_text(other),
            };
            picker(
                state,
                challenge,
                layout::status_of(&e),
                Some(Remark::Failed(factor, &text)),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SendForm {
    challenge: String,
    factor: String,
}

/// `POST /signin/factor/send`: "Send me a code" — texts or e-mails a code for the pending
/// sign-in ([`login::send_code`]) and shows the picker again.
pub(crate) async fn send_code(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<SendForm>,
) -> Response {
    let (Ok(id), Some(kind)) = (
        f.challenge.parse::<ChallengeId>(),
        challenge::sent_factor(&f.factor),
    ) else {
        return picker(&state, &f.challenge, StatusCode::BAD_REQUEST, None).await;
    };
    match login::send_code(&state, id, kind, None, &client).await {
        Ok(_) => {
            let text = challenge::sent_text(kind);
            picker(
                &state,
                &f.challenge,
                StatusCode::OK,
                Some(Remark::Sent(&f.factor, text)),
            )
            .await
        }
        Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(e) => {
            let text = layout::error_text(&e);
            picker(
                &state,
                &f.challenge,
                layout::status_of(&e),
                Some(Remark::Failed(&f.factor, &text)),
            )
            .await
        }
    }
}
