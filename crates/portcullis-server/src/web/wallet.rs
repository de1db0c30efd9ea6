//! Sign in with Ethereum on the pages: the wallet factor of a sign-in through the browser's
//! injected wallet (EIP-1193), as any Ethereum wallet can take part (DESIGN §4).
//!
//! The picker shows a form marked `data-wallet` when the sign-in waits for the wallet; the
//! one same-origin script ([`SCRIPT`]) makes a session key in the browser, asks for the two
//! texts ([`message`]), has the wallet sign them and posts the signatures ([`answer`]).
//! `/security` binds the browser's wallet to the account the same way ([`bind`], then
//! [`confirm`]: the wallet signs the enrolment's SIWE message). The
//! answers go through the same services as the API ([`login`]); the session is a wallet
//! session (the AuthNFT spent, a ReqNFT minted) whose tokens stay in the pages' HTTP-only
//! cookies instead of being bound to the key ([`TokenHolder::Cookies`]).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::ids::ChallengeId;
use portcullis_core::login::ChallengeError;
use serde::Deserialize;
use serde_json::json;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors;
use crate::services::login::{self, Answer, TokenHolder, WalletAnswer};
use crate::state::AppState;
use crate::web::csrf::{SessionForm, VisitorForm};
use crate::web::layout::{self, escape};
use crate::web::passkeys::{api_error, expired, json_error, signin_reply, wants_json};
use crate::web::security::failed;
use crate::web::stepup;

/// Where the script is served.
pub(crate) const SCRIPT: &str = "/assets/wallet.js";

const JS: &str = include_str!("../../assets/wallet.js");

/// `GET /assets/wallet.js`.
pub(crate) async fn script() -> Response {
    layout::script_response(JS)
}

/// The wallet choice of the factor picker for `challenge`.
pub(crate) fn picker_form(challenge: &str) -> String {
    format!(
        r#"<form method="post" action="/signin/wallet/message" data-wallet="signin">
<fieldset><legend>Ethereum wallet</legend>
<input type="hidden" name="challenge" value="{challenge}">
<p class="hint">Sign in with the wallet bound to your account (your browser's Ethereum wallet).</p>
<button type="submit">Sign in with Ethereum</button>
<p class="error" role="alert" data-wallet-error hidden></p></fieldset>
</form>"#,
        challenge = escape(challenge),
    )
}

#[derive(Deserialize)]
pub(crate) struct MessageForm {
    challenge: String,
    #[serde(default)]
    session_key: String,
}

#[derive(Deserialize)]
pub(crate) struct AnswerForm {
    challenge: String,
    signature: String,
    delegation_signature: String,
}

/// `POST /signin/wallet/message`: the texts the wallet signs for a pending sign-in.
pub(crate) async fn message(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    VisitorForm(f): VisitorForm<MessageForm>,
) -> Response {
    if !wants_json(&headers) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "Signing in with a wallet needs this site's script; allow it and reload.",
        );
    }
    let Ok(id) = f.challenge.parse::<ChallengeId>() else {
        return expired();
    };
    let Ok(key) = serde_json::from_str::<serde_json::Value>(&f.session_key) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "The browser's session key was not understood.",
        );
    };
    match login::wallet_message(&state, id, &key, None, TokenHolder::Cookies, &client).await {
        Ok(texts) => Json(texts).into_response(),
        Err(ServiceError::Challenge(ChallengeError::Expired | ChallengeError::Exhausted)) => {
            expired()
        }
        Err(e) => api_error(&e),
    }
}

/// `POST /signin/wallet/answer`: the wallet's two signatures.
pub(crate) async fn answer(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<AnswerForm>,
) -> Response {
    let Ok(id) = f.challenge.parse::<ChallengeId>() else {
        return expired();
    };
    let answer = Answer::Wallet(WalletAnswer {
        signature: f.signature,
        delegation_signature: f.delegation_signature,
    });
    let step = login::answer(&state, id, answer, None, &client).await;
    signin_reply(&state, step, "The wallet's signature was not accepted")
}

/// The "Bind an Ethereum wallet" form of `/security`; `csrf` is the hidden field, already
/// HTML. The script fills in the address the wallet gives.
pub(crate) fn bind_form(csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/security/wallet" class="actions" data-wallet="bind">{csrf}
<input type="hidden" name="address" value="">
<div><label for="wallet-label">Name for the wallet (optional)</label>
<input type="text" id="wallet-label" name="label" maxlength="64" placeholder="Wallet"></div>
<button type="submit">Bind an Ethereum wallet</button>
<p class="error" role="alert" data-wallet-error hidden></p></form>"#
    )
}

#[derive(Deserialize)]
pub(crate) struct BindForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    id: String,
    signature: String,
}

/// `POST /security/wallet`: starts binding the wallet at `address`; the message it signs.
pub(crate) async fn bind(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: SessionForm<BindForm>,
) -> Response {
    let session = &form.session;
    let label = Some(form.fields.label.trim().to_owned()).filter(|l| !l.is_empty());
    let json = wants_json(&headers);
    match factors::enrol_wallet(&state, &session.auth, label, &form.fields.address, &client).await {
        Ok(e) if json => Json(json!({ "id": e.factor.id, "message": e.message })).into_response(),
        Ok(_) => json_error(
            StatusCode::BAD_REQUEST,
            "Binding a wallet needs this site's script; allow it and reload.",
        ),
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

/// `POST /security/wallet/confirm`: the wallet's signature of the binding message, which
/// confirms the wallet and mints its AuthNFT.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<ConfirmForm>,
) -> Response {
    let f = &form.fields;
    match factors::confirm(&state, &form.session.auth, &f.id, &f.signature, &client).await {
        Ok(_) => Json(json!({ "redirect": "/security?notice=wallet-bound" })).into_response(),
        Err(ServiceError::NotFound) => json_error(
            StatusCode::NOT_FOUND,
            "This wallet binding has expired; reload the page and try again.",
        ),
        Err(e) => api_error(&e),
    }
}
