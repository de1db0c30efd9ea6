//! Step-up from the pages: a change that needs a recent authentication (setting up or
//! removing a factor, new recovery codes) shows forms for a fresh factor instead — a code
//! when the account has a second factor, else the password — answering the same step-up
//! challenge as `POST /v1/sessions/current/step-up` ([`login::step_up`], [`login::answer`]).
//! Success replaces the access-token cookie with the raised one; the person then repeats
//! the change. An account with a passkey can answer with it: the passkey script asks
//! [`passkey_options`] for the request options and posts the assertion to
//! [`passkey_answer`], which answer in JSON like the sign-in's passkey routes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::{ChallengeError, FactorKind};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::login::{self, Answer, LoginStep};
use crate::state::AppState;
use crate::web::challenge::{self, Remark, Target};
use crate::web::cookies::Cookies;
use crate::web::csrf::SessionForm;
use crate::web::layout::{self, csrf_field};
use crate::web::passkeys;
use crate::web::security::failed;
use crate::web::session::PageSession;

#[derive(Deserialize)]
pub(crate) struct StepUpForm {
    challenge: String,
    factor: String,
    code: String,
}

/// Starts a step-up of `session` and shows its forms.
pub(crate) async fn start(
    state: &AppState,
    session: &PageSession,
    client: &ClientInfo,
) -> Response {
    match login::step_up(state, &session.auth, None, None, client).await {
        Ok(LoginStep::Pending(p)) => {
            forms(state, session, &p.challenge_id, StatusCode::OK, None).await
        }
        Ok(LoginStep::SteppedUp(tokens) | LoginStep::Complete(tokens)) => raised(state, &tokens),
        Err(e) => failed(session, &e),
    }
}

fn raised(state: &AppState, tokens: &crate::services::sessions::TokenResponse) -> Response {
    let mut response = Redirect::to("/security?notice=stepped-up").into_response();
    Cookies::of(state).set_tokens(response.headers_mut(), state, tokens);
    response
}

fn expired() -> Response {
    Redirect::to("/security?notice=step-up-expired").into_response()
}

async fn forms(
    state: &AppState,
    session: &PageSession,
    id: &str,
    status: StatusCode,
    remark: Option<Remark<'_>>,
) -> Response {
    let Ok(cid) = id.parse::<ChallengeId>() else {
        return expired();
    };
    let pending = match state.store.challenges.get(cid).await {
        Ok(Some((c, _)))
            if c.session == Some(session.auth.session) && c.expires_in(state.now()) > 0 =>
        {
            c
        }
        Ok(_) => return expired(),
        Err(e) => return failed(session, &ServiceError::from(e)),
    };
    let hidden = csrf_field(&session.csrf);
    let target = Target {
        action: "/security/step-up",
        challenge: id,
        hidden: &hidden,
        send: "/security/step-up/send",
        pattern: crate::web::pattern::grid(state),
        image: "/security/step-up/image",
    };
    let remaining = pending.remaining();
    let mut forms = challenge::forms(&target, &remaining, remark);
    if remaining.contains(&FactorKind::Passkey) {
        forms.insert(0, passkeys::step_up_form(id, &hidden));
    }
    if forms.is_empty() {
        return layout::message(
            StatusCode::FORBIDDEN,
            "Confirm it is you",
            &session.nav(),
            "This change needs a recent sign-in: sign out, sign in again and retry within a few minutes.",
        );
    }
    let body = format!(
        r#"<p>This change needs a recent confirmation that it is you. Answer one of these, then make the change again.</p>
{}
<p><a href="/security">Cancel</a></p>"#,
        forms.join("\n")
    );
    layout::page(status, "Confirm it is you", &session.nav(), &body)
}

/// `POST /security/step-up`.
pub(crate) async fn answer(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<StepUpForm>,
) -> Response {
    let session = &form.session;
    let f = form.fields;
    let Some(answer) = challenge::answer(&f.factor, f.code) else {
        return forms(&state, session, &f.challenge, StatusCode::BAD_REQUEST, None).await;
    };
    answer_with(&state, &client, session, &f.challenge, &f.factor, answer).await
}

/// Answers the step-up `challenge` of `session` (its forms, and the image passcode's
/// upload) and shows where it leads.
pub(crate) async fn answer_with(
    state: &AppState,
    client: &ClientInfo,
    session: &PageSession,
    challenge: &str,
    factor: &str,
    answer: Answer,
) -> Response {
    let Ok(id) = challenge.parse::<ChallengeId>() else {
        return expired();
    };
    match login::answer(state, id, answer, Some(session.auth.session), client).await {
        Ok(LoginStep::SteppedUp(tokens) | LoginStep::Complete(tokens)) => raised(state, &tokens),
        Ok(LoginStep::Pending(p)) => {
            forms(state, session, &p.challenge_id, StatusCode::OK, None).await
        }
        Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(e) => {
            let text = match &e {
                ServiceError::Challenge(ChallengeError::Rejected { attempts_left }) => {
                    format!("That is not right ({attempts_left} attempts left).")
                }
                other => layout::error_text(other),
            };
            forms(
                state,
                session,
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

/// `POST /security/step-up/send`: "Send me a code" for the step-up.
pub(crate) async fn send_code(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<SendForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    let (Ok(id), Some(kind)) = (
        f.challenge.parse::<ChallengeId>(),
        challenge::sent_factor(&f.factor),
    ) else {
        return expired();
    };
    let remark_text;
    let (status, remark) =
        match login::send_code(&state, id, kind, Some(session.auth.session), &client).await {
            Ok(_) => (
                StatusCode::OK,
                Remark::Sent(&f.factor, challenge::sent_text(kind)),
            ),
            Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
                return expired();
            }
            Err(e) => {
                remark_text = layout::error_text(&e);
                (
                    layout::status_of(&e),
                    Remark::Failed(&f.factor, &remark_text),
                )
            }
        };
    forms(&state, session, &f.challenge, status, Some(remark)).await
}

#[derive(Deserialize)]
pub(crate) struct ChallengeForm {
    challenge: String,
}

#[derive(Deserialize)]
pub(crate) struct AssertionForm {
    challenge: String,
    credential: String,
}

fn expired_json() -> Response {
    (
        StatusCode::GONE,
        Json(json!({
            "error": "This confirmation has expired or was used up.",
            "redirect": "/security?notice=step-up-expired",
        })),
    )
        .into_response()
}

/// `POST /security/step-up/passkey/options`: request options for a step-up of the page
/// session with a passkey (the script's first call).
pub(crate) async fn passkey_options(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: SessionForm<ChallengeForm>,
) -> Response {
    let session = &form.session;
    if !passkeys::wants_json(&headers) {
        return start(&state, session, &client).await;
    }
    let Ok(id) = form.fields.challenge.parse::<ChallengeId>() else {
        return expired_json();
    };
    match login::passkey_options(&state, id, Some(session.auth.session), &client).await {
        Ok(options) => {
            Json(json!({ "challenge": form.fields.challenge, "options": options })).into_response()
        }
        Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired_json()
        }
        Err(e) => passkeys::api_error(&e),
    }
}

/// `POST /security/step-up/passkey/answer`: the browser's assertion; success raises the
/// page session like any other step-up answer.
pub(crate) async fn passkey_answer(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<AssertionForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    let Ok(id) = f.challenge.parse::<ChallengeId>() else {
        return expired_json();
    };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(&f.credential) else {
        return passkeys::json_error(
            StatusCode::BAD_REQUEST,
            "The browser's answer was not understood.",
        );
    };
    let answer = Answer::Passkey(Box::new(credential));
    match login::answer(&state, id, answer, Some(session.auth.session), &client).await {
        Ok(LoginStep::SteppedUp(tokens) | LoginStep::Complete(tokens)) => {
            let mut response =
                Json(json!({ "redirect": "/security?notice=stepped-up" })).into_response();
            Cookies::of(&state).set_tokens(response.headers_mut(), &state, &tokens);
            response
        }
        Ok(LoginStep::Pending(_))
        | Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired_json()
        }
        Err(ServiceError::Challenge(ChallengeError::Rejected { attempts_left })) => {
            passkeys::json_error(
                StatusCode::UNAUTHORIZED,
                &format!("That passkey was not accepted ({attempts_left} attempts left)."),
            )
        }
        Err(e) => passkeys::api_error(&e),
    }
}
