//! The web pages people use: sign up, sign in (password, then a factor picker), the
//! security page (authenticator apps with their QR code, passkeys, recovery codes, sessions)
//! and the DualConfirm consoles ([`dualconfirm`]), all server-rendered HTML over the same
//! services as the JSON API — no front-end build, no third-party assets; one stylesheet and
//! three scripts (WebAuthn, [`passkeys`]; the pattern pad, [`pattern`]; the console's live
//! words, [`dualconfirm`]) served by the binary.
//!
//! A signed-in browser holds an ordinary session's tokens in two cookies ([`cookies`]); a
//! middleware turns them into the [`session::PageSession`] parameter, refreshing an expired
//! access token on the way ([`session`]). Every form of a session carries its CSRF token,
//! and every form must come from our own origin ([`csrf`]). The mail-link pages
//! (`/verify-email`, `/reset-password`) live in [`crate::routes::pages`].

mod challenge;
mod codes;
pub(crate) mod cookies;
pub(crate) mod csrf;
mod custody;
mod dualconfirm;
mod enrol;
mod factors;
pub(crate) mod failure;
pub(crate) mod layout;
mod passcodes;
mod passkeys;
mod pattern;
mod security;
mod session;
mod signin;
mod signup;
mod stepup;
mod wallet;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::AppState;

/// A POST route that takes an image passcode's upload: the one kind of page route whose
/// body may exceed `max_body_bytes`.
fn image_post<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    post(handler).layer(DefaultBodyLimit::max(crate::upload::MULTIPART_LIMIT))
}

/// Routes of the pages; merge into the application router.
pub fn router(state: AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/security", get(security::show))
        .route("/security/totp", post(factors::enrol))
        .route("/security/totp/confirm", post(factors::confirm))
        .route("/security/phone", post(codes::add_phone))
        .route("/security/email-codes", post(codes::add_email))
        .route("/security/codes/confirm", post(codes::confirm))
        .route("/security/pattern", post(pattern::enrol))
        .route("/security/pattern/confirm", post(pattern::confirm))
        .route("/security/passkey", post(passkeys::enrol))
        .route("/security/wallet", post(wallet::bind))
        .route("/security/wallet/confirm", post(wallet::confirm))
        .route(
            "/security/wallets",
            get(custody::list).post(custody::create),
        )
        .route("/security/wallets/{id}", get(custody::show))
        .route("/security/wallets/{id}/send", post(custody::send))
        .route("/security/gesture", post(passcodes::enrol_gesture))
        .route("/security/image", image_post(passcodes::enrol_image))
        .route(
            "/security/step-up/image",
            image_post(passcodes::stepup_image),
        )
        .route("/security/passkey/finish", post(passkeys::finish))
        .route("/security/factors/remove", post(factors::remove))
        .route("/security/recovery-codes", post(factors::recovery_codes))
        .route("/security/sessions/revoke", post(security::revoke))
        .route("/security/step-up", post(stepup::answer))
        .route("/security/step-up/send", post(stepup::send_code))
        .route(
            "/security/step-up/passkey/options",
            post(stepup::passkey_options),
        )
        .route(
            "/security/step-up/passkey/answer",
            post(stepup::passkey_answer),
        )
        .route("/signout", post(security::sign_out))
        .route("/dualconfirm", get(dualconfirm::show))
        .route("/dualconfirm/ping", get(dualconfirm::ping))
        .route("/dualconfirm/check", post(dualconfirm::check))
        .route("/dualconfirm/accept", post(dualconfirm::accept))
        .route_layer(middleware::from_fn_with_state(state, session::resolve));
    Router::new()
        .route("/", get(|| async { Redirect::to("/security") }))
        .route(layout::STYLESHEET, get(layout::stylesheet))
        .route(passkeys::SCRIPT, get(passkeys::script))
        .route(wallet::SCRIPT, get(wallet::script))
        .route(pattern::SCRIPT, get(pattern::script))
        .route(passcodes::SCRIPT, get(passcodes::script))
        .route(dualconfirm::SCRIPT, get(dualconfirm::script))
        .route("/signup", get(signup::show).post(signup::submit))
        .route("/signin", get(signin::show).post(signin::submit))
        .route(
            "/signin/factor",
            get(signin::show_factor).post(signin::submit_factor),
        )
        .route("/signin/factor/send", post(signin::send_code))
        .route("/signin/enrol", get(enrol::show))
        .route("/signin/enrol/totp", post(enrol::start_totp))
        .route("/signin/enrol/confirm", post(enrol::confirm))
        .route("/signin/enrol/cancel", post(enrol::cancel))
        .route("/signin/factor/image", image_post(passcodes::signin_image))
        .route("/signin/passkey", post(passkeys::start_passwordless))
        .route(
            "/signin/passkey/options",
            post(passkeys::second_factor_options),
        )
        .route("/signin/passkey/answer", post(passkeys::answer))
        .route("/signin/wallet/message", post(wallet::message))
        .route("/signin/wallet/answer", post(wallet::answer))
        .merge(signed_in)
}
