//! The passcodes on the pages: the gesture pad ([`SCRIPT`] records a 3×3 pad's clicks,
//! double clicks, right clicks and scrolls, or their keyboard equivalents, into a form field
//! in canonical form) and the image upload (a `multipart/form-data` form, read by
//! `upload::read`, on the three routes that alone take a body that large). Enrolment on
//! `/security`, answers in the sign-in picker and at step-up.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::login::FactorKind;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::factors;
use crate::services::login::Answer;
use crate::state::AppState;
use crate::upload::{self, Upload, UploadError};
use crate::web::challenge::Target;
use crate::web::csrf::{SessionForm, refused, same_origin, token_matches};
use crate::web::factors::refusal;
use crate::web::layout::{self, Nav, escape};
use crate::web::security::overview;
use crate::web::session::PageSession;
use crate::web::{signin, stepup};

/// Path of the gesture pad's script.
pub(crate) const SCRIPT: &str = "/assets/gesture.js";
const JS: &str = include_str!("../../assets/gesture.js");

/// `GET /assets/gesture.js`.
pub(crate) async fn script() -> Response {
    layout::script_response(JS)
}

/// Whether the picker shows a passcode form for `kind`.
pub(crate) fn has_form(kind: FactorKind) -> bool {
    matches!(kind, FactorKind::Image | FactorKind::Gesture)
}

/// The pad, writing into the hidden field `name` (ids prefixed with `id`).
fn pad(id: &str, name: &str) -> String {
    let cells: String = (1..=9)
        .map(|n| format!(r#"<div data-cell="{n}" aria-hidden="true">{n}</div>"#))
        .collect();
    format!(
        r#"<p class="hint" id="{id}-help">Click, double-click, right-click or scroll on the cells, at least 6 times. Keyboard: arrows or 1–9 choose a cell; Enter = click, D = double click, R = right click, U = scroll up, N = scroll down; Backspace undoes, Escape clears.</p>
<div class="gesture-pad" id="{id}-pad" tabindex="0" role="application" aria-label="Gesture pad, 3 by 3 cells" aria-describedby="{id}-help {id}-status" data-field="{id}-value" data-status="{id}-status" data-clear="{id}-clear">{cells}</div>
<p id="{id}-status" class="hint" aria-live="polite"></p>
<input type="hidden" id="{id}-value" name="{name}" value="">
<button type="button" class="secondary" id="{id}-clear">Clear</button>
<script src="{SCRIPT}" defer></script>"#
    )
}

fn error_html(id: &str, error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!(
            r#"<p class="error" role="alert" id="{id}-error">{}</p>"#,
            escape(e)
        )
    })
}

/// The picker's form for a passcode `kind`, with `error` beside it.
pub(crate) fn challenge_form(
    kind: FactorKind,
    target: &Target<'_>,
    error: Option<&str>,
    first: bool,
) -> Option<String> {
    let autofocus = if first { " autofocus" } else { "" };
    let challenge = escape(target.challenge);
    let hidden = target.hidden;
    match kind {
        FactorKind::Gesture => Some(format!(
            r#"<form method="post" action="{action}">
<fieldset><legend>Gesture passcode</legend>
{hidden}<input type="hidden" name="challenge" value="{challenge}">
<input type="hidden" name="factor" value="gesture">
{pad}
{error}<button type="submit">Continue</button>
</fieldset>
</form>"#,
            action = target.action,
            pad = pad("gesture", "code"),
            error = error_html("gesture", error),
        )),
        FactorKind::Image => Some(format!(
            r#"<form method="post" action="{action}" enctype="multipart/form-data">
<fieldset><legend>Image passcode</legend>
{hidden}<input type="hidden" name="challenge" value="{challenge}">
<label for="image-file">Your image file (the exact file you chose)</label>
<input type="file" id="image-file" name="image" accept="image/png,image/jpeg,image/webp" required{autofocus}>
{error}<button type="submit">Continue</button>
</fieldset>
</form>"#,
            action = target.image,
            error = error_html("image", error),
        )),
        _ => None,
    }
}

/// The enrolment forms of `/security`; `csrf` is the hidden CSRF field, already HTML.
pub(crate) fn enrol_forms(csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/security/image" enctype="multipart/form-data" class="actions">{csrf}
<div><label for="enrol-image">Image passcode: a PNG, JPEG or WebP file you keep (4 KiB to 5 MiB, at least 64×64 pixels). Keep the exact file: a copy saved again will not work.</label>
<input type="file" id="enrol-image" name="image" accept="image/png,image/jpeg,image/webp" required></div>
<button type="submit">Use this image</button>
</form>
<form method="post" action="/security/gesture">{csrf}
<fieldset><legend>Gesture passcode</legend>
<p class="hint">Something you know, like a password: with your password it does not count as a second kind of factor.</p>
{pad}
<button type="submit">Use this gesture</button>
</fieldset>
</form>"#,
        pad = pad("enrol-gesture", "gesture"),
    )
}

#[derive(Deserialize)]
pub(crate) struct GestureForm {
    gesture: String,
}

/// `POST /security/gesture`.
pub(crate) async fn enrol_gesture(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<GestureForm>,
) -> Response {
    let session = &form.session;
    match factors::enrol_gesture(&state, &session.auth, None, &form.fields.gesture, &client).await {
        Ok(_) => Redirect::to("/security#factors").into_response(),
        Err(e) => refusal(&state, session, &client, e).await,
    }
}

/// A multipart form from our own origin, with the session's CSRF token when posted by a
/// signed-in page.
pub(crate) struct ImagePost {
    session: Option<PageSession>,
    upload: Upload,
}

impl FromRequest<AppState> for ImagePost {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let session = req.extensions().get::<PageSession>().cloned();
        let nav = match &session {
            Some(s) => Nav::SignedIn { csrf: &s.csrf },
            None => Nav::Visitor,
        };
        if !same_origin(state, req.headers()) {
            return Err(refused(&nav));
        }
        let bad =
            |text: &str| layout::message(StatusCode::BAD_REQUEST, "Upload refused", &nav, text);
        let Ok(form) = Multipart::from_request(req, state).await else {
            return Err(bad(
                "The form was not sent as a file upload. Go back and try again.",
            ));
        };
        let upload = match upload::read(form, "image").await {
            Ok(upload) => upload,
            Err(UploadError::TooLarge) => {
                return Err(layout::message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Upload refused",
                    &nav,
                    "The image is larger than 5 MiB.",
                ));
            }
            Err(UploadError::Malformed(_)) => {
                return Err(bad("The upload was incomplete. Go back and try again."));
            }
        };
        if let Some(s) = &session {
            let csrf = upload.text.get("csrf").map_or("", String::as_str);
            if !token_matches(state, s.auth.session, csrf) {
                return Err(refused(&nav));
            }
        }
        Ok(ImagePost { session, upload })
    }
}

/// `POST /security/image`: enrols the uploaded image.
pub(crate) async fn enrol_image(
    State(state): State<AppState>,
    client: ClientInfo,
    post: ImagePost,
) -> Response {
    let (Some(session), Some(image)) = (post.session, post.upload.file) else {
        return Redirect::to("/security").into_response();
    };
    match factors::enrol_image(&state, &session.auth, None, image, &client).await {
        Ok(_) => {
            overview(
                &state,
                &session,
                StatusCode::OK,
                Some("Image passcode added. Keep that exact file: you will upload it to sign in."),
                None,
            )
            .await
        }
        Err(e) => refusal(&state, &session, &client, e).await,
    }
}

/// `POST /signin/factor/image`: answers a sign-in with the image.
pub(crate) async fn signin_image(
    State(state): State<AppState>,
    client: ClientInfo,
    mut post: ImagePost,
) -> Response {
    let challenge = post.upload.text.remove("challenge").unwrap_or_default();
    let image = post.upload.file.unwrap_or_default();
    signin::answer_second(&state, &client, &challenge, "image", Answer::Image(image)).await
}

/// `POST /security/step-up/image`: answers a step-up with the image.
pub(crate) async fn stepup_image(
    State(state): State<AppState>,
    client: ClientInfo,
    mut post: ImagePost,
) -> Response {
    let Some(session) = post.session else {
        return Redirect::to("/signin").into_response();
    };
    let challenge = post.upload.text.remove("challenge").unwrap_or_default();
    let image = post.upload.file.unwrap_or_default();
    stepup::answer_with(
        &state,
        &client,
        &session,
        &challenge,
        "image",
        Answer::Image(image),
    )
    .await
}
