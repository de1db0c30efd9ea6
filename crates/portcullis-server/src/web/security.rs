//! `/security`: what protects the signed-in account — its second factors, its recovery
//! codes, its live sessions — with a button for each change; and signing out. Every button
//! is a POST form carrying the session's CSRF token ([`SessionForm`]); the changes themselves
//! are the API's services.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::SessionId;
use portcullis_store::model::SessionRecord;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::factors::{self, FactorView};
use crate::services::{accounts, sessions};
use crate::state::AppState;
use crate::web::codes;
use crate::web::cookies::Cookies;
use crate::web::csrf::{NoFields, SessionForm};
use crate::web::layout::{self, csrf_field, escape, plain_time, when};
use crate::web::passkeys;
use crate::web::session::PageSession;

#[derive(Deserialize)]
pub(crate) struct SecurityQuery {
    #[serde(default)]
    notice: String,
}

#[derive(Deserialize)]
pub(crate) struct SessionRef {
    session: String,
}

/// Messages a redirect back to the page may ask for (never text from the URL itself).
fn notice_text(code: &str) -> (Option<&'static str>, Option<&'static str>) {
    match code {
        "totp-enrolled" => (
            Some("Your authenticator app is set up: signing in now asks for a code from it."),
            None,
        ),
        "wallet-bound" => (
            Some("Your wallet is bound: sign-ins now ask for it after your password."),
            None,
        ),
        "passkey-added" => (
            Some("Your passkey is added: use it to sign in, with or without your password."),
            None,
        ),
        "phone-added" => (
            Some("Your phone number is confirmed: signing in can now text you a code."),
            None,
        ),
        "email-codes-added" => (
            Some("E-mail codes are set up: signing in can now e-mail you a code."),
            None,
        ),
        "pattern-added" => (
            Some("Patterns are set up: signing in can now send you a pattern to draw."),
            None,
        ),
        "factor-removed" => (Some("The factor was removed."), None),
        "session-revoked" => (Some("That session is signed out."), None),
        "stepped-up" => (
            Some("Thank you, confirmed. You can now make the change you wanted."),
            None,
        ),
        "step-up-expired" => (
            None,
            Some("The confirmation expired or failed too often; try the change again."),
        ),
        _ => (None, None),
    }
}

/// `GET /security`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: PageSession,
    Query(q): Query<SecurityQuery>,
) -> Response {
    let (notice, alert) = notice_text(&q.notice);
    overview(&state, &session, StatusCode::OK, notice, alert).await
}

/// The security page, with an optional notice or alert above it.
pub(crate) async fn overview(
    state: &AppState,
    session: &PageSession,
    status: StatusCode,
    notice: Option<&str>,
    alert: Option<&str>,
) -> Response {
    match sections(state, session).await {
        Ok(body) => layout::page(
            status,
            "Security",
            &session.nav(),
            &format!("{}{}{body}", layout::notice(notice), layout::alert(alert)),
        ),
        Err(e) => failed(session, &e),
    }
}

/// A page for a call that failed unexpectedly.
pub(crate) fn failed(session: &PageSession, e: &ServiceError) -> Response {
    layout::message(
        layout::status_of(e),
        "Something went wrong",
        &session.nav(),
        &layout::error_text(e),
    )
}

async fn sections(state: &AppState, session: &PageSession) -> Result<String, ServiceError> {
    let account = accounts::live_account(state, session.auth.account).await?;
    let profile = accounts::profile(state, &account).await?;
    let list = factors::list(state, account.id).await?;
    let live = state
        .store
        .sessions
        .list_live(account.id, state.now())
        .await?;
    let csrf = csrf_field(&session.csrf);
    Ok(format!(
        r#"<p>Signed in as <strong>{email}</strong>.</p>
{dualconfirm}
<h2 id="factors">Two-step sign-in</h2>
{factors}
{codes}
{pattern}
<h2 id="recovery">Recovery codes</h2>
<p>{left} unused recovery code(s). Each works once, when your authenticator app is not at hand.</p>
<form method="post" action="/security/recovery-codes">{csrf}<button type="submit" class="secondary">Generate new recovery codes</button></form>
<p class="hint">New codes replace the old ones, which stop working.</p>
<h2 id="sessions">Where you are signed in</h2>
{sessions}
{wallets}"#,
        email = escape(&profile.email),
        dualconfirm = crate::web::dualconfirm::security_link(session),
        factors = factor_section(&list.factors, &csrf),
        codes = codes::section(&csrf),
        pattern = crate::web::pattern::section(&csrf),
        left = list.recovery_codes_left,
        sessions = session_table(&live, session, &csrf),
        wallets = if state.chain.is_some() {
            r#"<h2 id="wallets">Ethereum wallets</h2>
<p><a href="/security/wallets">Your wallets</a>: create one, see its balance and transfers, send ETH.</p>"#
        } else {
            ""
        },
    ))
}

/// How the page names a kind of factor.
fn kind_name(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::Totp => "Authenticator app",
        FactorKind::Passkey => "Passkey",
        FactorKind::Sms => "Text message",
        FactorKind::EmailOtp => "E-mail code",
        FactorKind::Password => "Password",
        FactorKind::RecoveryCode => "Recovery code",
        FactorKind::PatternOtp => "Pattern to draw",
        FactorKind::Image => "Image passcode",
        FactorKind::Gesture => "Gesture passcode",
        FactorKind::Wallet => "Wallet",
    }
}

fn factor_section(list: &[FactorView], csrf: &str) -> String {
    let rows: Vec<String> = list
        .iter()
        .map(|f| {
            let state = if f.confirmed {
                "in use".to_owned()
            } else {
                "not confirmed".to_owned()
            };
            let used = f.last_used_at.map_or("never".to_owned(), when);
            format!(
                r#"<tr><td>{kind}</td><td>{label}</td><td>{added}</td><td>{state}</td><td>{used}</td>
<td><form method="post" action="/security/factors/remove">{csrf}<input type="hidden" name="factor" value="{id}"><button type="submit" class="danger inline" aria-label="Remove {label_attr}">Remove</button></form></td></tr>"#,
                kind = escape(kind_name(f.kind)),
                label = escape(&f.label),
                label_attr = escape(&f.label),
                added = when(f.created_at),
                id = escape(&f.id),
            )
        })
        .collect();
    let table = if rows.is_empty() {
        "<p>Signing in needs only your password. Add an authenticator app or a passkey to ask for more.</p>".to_owned()
    } else {
        format!(
            r#"<table><caption class="hint">Second factors</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Added</th><th scope="col">State</th><th scope="col">Last used</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>{}</tbody></table>"#,
            rows.join("\n")
        )
    };
    format!(
        r#"{table}
<form method="post" action="/security/totp" class="actions">{csrf}
<div><label for="totp-label">Name for the app (optional)</label>
<input type="text" id="totp-label" name="label" maxlength="64" placeholder="Authenticator app"></div>
<button type="submit">Set up an authenticator app</button>
</form>
{passkey}
{wallet}
{passcodes}"#,
        passkey = passkeys::register_form(csrf),
        wallet = crate::web::wallet::bind_form(csrf),
        passcodes = crate::web::passcodes::enrol_forms(csrf),
    )
}

fn session_table(live: &[SessionRecord], current: &PageSession, csrf: &str) -> String {
    let rows: Vec<String> = live
        .iter()
        .map(|s| {
            let action = if s.id == current.auth.session {
                "<strong>This browser</strong>".to_owned()
            } else {
                format!(
                    r#"<form method="post" action="/security/sessions/revoke">{csrf}<input type="hidden" name="session" value="{id}"><button type="submit" class="danger inline" aria-label="Sign out the session started {started}">Sign out</button></form>"#,
                    id = s.id,
                    started = escape(&plain_time(s.created_at)),
                )
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                when(s.created_at),
                when(s.last_seen_at),
                escape(s.user_agent.as_deref().unwrap_or("unknown")),
                escape(s.ip.as_deref().unwrap_or("unknown")),
            )
        })
        .collect();
    format!(
        r#"<table><caption class="hint">Live sessions</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Last active</th><th scope="col">Browser or app</th><th scope="col">Address</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>{}</tbody></table>"#,
        rows.join("\n")
    )
}

fn signed_out(state: &AppState) -> Response {
    let mut response = Redirect::to("/signin?notice=signed-out").into_response();
    Cookies::of(state).clear(response.headers_mut());
    response
}

/// `POST /signout`: ends the current session and forgets its cookies.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<NoFields>,
) -> Response {
    let auth = &form.session.auth;
    if let Err(e) = sessions::revoke(&state, auth.account, auth.session, "logout", &client).await {
        tracing::warn!(error = %e, "sign-out could not revoke the session");
    }
    signed_out(&state)
}

/// `POST /security/sessions/revoke`: ends one of the account's sessions.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<SessionRef>,
) -> Response {
    let session = &form.session;
    let Ok(id) = form.fields.session.parse::<SessionId>() else {
        return overview(
            &state,
            session,
            StatusCode::NOT_FOUND,
            None,
            Some("No such session."),
        )
        .await;
    };
    match sessions::revoke(&state, session.auth.account, id, "revoked_by_user", &client).await {
        Ok(()) if id == session.auth.session => signed_out(&state),
        Ok(()) => Redirect::to("/security?notice=session-revoked").into_response(),
        Err(ServiceError::NotFound) => {
            overview(
                &state,
                session,
                StatusCode::NOT_FOUND,
                None,
                Some("No such session."),
            )
            .await
        }
        Err(e) => failed(session, &e),
    }
}
