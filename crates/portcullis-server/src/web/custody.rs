//! Custodial wallets on the pages: `/security/wallets` lists them (with their balances) and
//! makes new ones; `/security/wallets/{id}` shows one wallet's address, balance, transfers
//! and sends, and sends ETH. The same services as the API answer (`services::custody`); the
//! pages are Portcullis' own, so they need no API key. A send without a recent TOTP or
//! passkey authentication leads to the step-up forms; the person then sends again.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_chain::U256;
use portcullis_core::custody::{format_ether, parse_ether, parse_wei};
use portcullis_core::password::Password;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::custody::{self, SendOrder, WalletView};
use crate::state::AppState;
use crate::web::csrf::SessionForm;
use crate::web::layout::{self, csrf_field, escape, when};
use crate::web::security::failed;
use crate::web::session::PageSession;
use crate::web::stepup;

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct SendForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    password: String,
}

/// Notices a redirect may ask for (never text from the URL itself).
fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "created" => {
            Some("Your wallet is ready. Its key stays on the server, sealed with your password.")
        }
        "sent" => Some(
            "Sent. The transfer is pending until a block includes it; this page shows when it is mined.",
        ),
        _ => None,
    }
}

/// A hash or address shortened for a table cell, the whole value in its `title`.
fn short(value: &str) -> String {
    let shown = if value.len() > 16 {
        format!("{}…{}", &value[..10], &value[value.len() - 6..])
    } else {
        value.to_owned()
    };
    format!(
        r#"<code title="{full}">{shown}</code>"#,
        full = escape(value),
        shown = escape(&shown)
    )
}

fn ether(wei: &str) -> String {
    parse_wei(wei).map_or_else(|| wei.to_owned(), format_ether)
}

/// `GET /security/wallets`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: PageSession,
    Query(q): Query<NoticeQuery>,
) -> Response {
    match list_page(&state, &session).await {
        Ok(body) => layout::page(
            StatusCode::OK,
            "Wallets",
            &session.nav(),
            &format!("{}{body}", layout::notice(notice_text(&q.notice))),
        ),
        Err(e) => failed(&session, &e),
    }
}

async fn list_page(state: &AppState, session: &PageSession) -> Result<String, ServiceError> {
    let wallets = custody::list(state, session.auth.account).await?;
    let mut rows = String::new();
    for w in &wallets {
        let balance = match custody::balance(state, session.auth.account, &w.id).await {
            Ok(b) => format!("{} ETH", ether(&b.wei)),
            Err(_) => "unavailable".to_owned(),
        };
        rows.push_str(&format!(
            r#"<tr><td><a href="/security/wallets/{id}">{label}</a></td><td><code>{address}</code></td><td data-balance>{balance}</td></tr>"#,
            id = escape(&w.id),
            label = escape(&w.label),
            address = escape(&w.address),
            balance = escape(&balance),
        ));
    }
    let table = if wallets.is_empty() {
        "<p>You have no wallet yet.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Wallet</th><th>Address</th><th>Balance</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Ok(format!(
        r#"<p>Wallets whose keys Portcullis keeps for you: the key never leaves the server and
opens only with your password. <a href="/security">Back to security</a></p>
{table}
<h2>New wallet</h2>
<form method="post" action="/security/wallets" class="actions">{csrf}
<div><label for="wallet-name">Name (optional)</label>
<input type="text" id="wallet-name" name="label" maxlength="64" placeholder="Wallet"></div>
<div><label for="wallet-password">Your password</label>
<input type="password" id="wallet-password" name="password" required autocomplete="current-password"></div>
<button type="submit">Create a wallet</button></form>"#,
        csrf = csrf_field(&session.csrf),
    ))
}

/// `POST /security/wallets`: a new wallet.
pub(crate) async fn create(
    State(state): State<AppState>,
    client: ClientInfo,
    form: SessionForm<CreateForm>,
) -> Response {
    let session = &form.session;
    let label = Some(form.fields.label.trim().to_owned()).filter(|l| !l.is_empty());
    let password = Password::new(form.fields.password.clone());
    match custody::create(&state, session.auth.account, password, label, &client).await {
        Ok(w) => {
            Redirect::to(&format!("/security/wallets/{}?notice=created", w.id)).into_response()
        }
        Err(e) => refused(&state, session, &client, None, &e).await,
    }
}

/// `GET /security/wallets/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: PageSession,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    wallet_page(
        &state,
        &session,
        &id,
        StatusCode::OK,
        notice_text(&q.notice),
        None,
    )
    .await
}

async fn wallet_page(
    state: &AppState,
    session: &PageSession,
    id: &str,
    status: StatusCode,
    notice: Option<&str>,
    alert: Option<&str>,
) -> Response {
    let wallet = match custody::get(state, session.auth.account, id).await {
        Ok(w) => w,
        Err(e) => return failed(session, &e),
    };
    let body = wallet_body(state, session, &wallet).await;
    layout::page(
        status,
        &wallet.label,
        &session.nav(),
        &format!("{}{}{body}", layout::notice(notice), layout::alert(alert)),
    )
}

async fn wallet_body(state: &AppState, session: &PageSession, w: &WalletView) -> String {
    let account = session.auth.account;
    let balance = match custody::balance(state, account, &w.id).await {
        Ok(b) => format!("{} ETH (block {})", ether(&b.wei), b.block),
        Err(_) => "unavailable: the chain cannot be reached now".to_owned(),
    };
    let history = match custody::history(state, account, &w.id, 20).await {
        Ok(h) if h.is_empty() => "<p>No transfers yet.</p>".to_owned(),
        Ok(h) => {
            let rows: String = h
                .iter()
                .map(|t| {
                    let other = if t.direction == "sent" { &t.to } else { &t.from };
                    format!(
                        "<tr><td>{dir}</td><td>{amount} ETH</td><td>{other}</td><td>{block}</td><td>{hash}</td></tr>",
                        dir = t.direction,
                        amount = escape(&ether(&t.value)),
                        other = short(other),
                        block = t.block,
                        hash = short(&t.tx_hash),
                    )
                })
                .collect();
            format!(
                "<table data-history><thead><tr><th></th><th>Amount</th><th>With</th><th>Block</th><th>Transaction</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        }
        Err(_) => "<p>The chain cannot be reached now.</p>".to_owned(),
    };
    let sends = match custody::sends(state, &session.auth, &w.id, 20).await {
        Ok(s) if s.is_empty() => String::new(),
        Ok(s) => {
            let rows: String = s
                .iter()
                .map(|s| {
                    format!(
                        "<tr><td>{when}</td><td>{amount} ETH</td><td>{to}</td><td data-status>{status}</td><td>{detail}</td></tr>",
                        when = when(s.created_at),
                        amount = escape(&ether(&s.value)),
                        to = short(&s.to),
                        status = s.status,
                        detail = match (&s.error, &s.tx_hash) {
                            (Some(e), _) => escape(e),
                            (None, Some(h)) => short(h),
                            (None, None) => String::new(),
                        },
                    )
                })
                .collect();
            format!(
                "<h2>Your sends</h2><table data-sends><thead><tr><th>When</th><th>Amount</th><th>To</th><th>Status</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
            )
        }
        Err(_) => String::new(),
    };
    format!(
        r#"<p>Address: <code data-address>{address}</code> (chain {chain})</p>
<p>Balance: <strong data-balance>{balance}</strong></p>
<h2>Send ETH</h2>
<p class="hint">Sending asks for a recent confirmation with your authenticator app or passkey, and your password.</p>
<form method="post" action="/security/wallets/{id}/send" class="actions">{csrf}
<div><label for="send-to">To (address)</label>
<input type="text" id="send-to" name="to" required pattern="0x[0-9a-fA-F]{{40}}" placeholder="0x…" autocomplete="off"></div>
<div><label for="send-amount">Amount (ETH)</label>
<input type="text" id="send-amount" name="amount" required inputmode="decimal" placeholder="0.1"></div>
<div><label for="send-password">Your password</label>
<input type="password" id="send-password" name="password" required autocomplete="current-password"></div>
<button type="submit">Send</button></form>
{sends}
<h2>Transfers</h2>
{history}
<p><a href="/security/wallets">All wallets</a></p>"#,
        address = escape(&w.address),
        chain = w.chain_id,
        balance = escape(&balance),
        id = escape(&w.id),
        csrf = csrf_field(&session.csrf),
    )
}

/// `POST /security/wallets/{id}/send`.
pub(crate) async fn send(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<String>,
    form: SessionForm<SendForm>,
) -> Response {
    let session = &form.session;
    let f = &form.fields;
    let Some(wei) = parse_ether(f.amount.trim()).filter(|w| *w > U256::ZERO) else {
        return wallet_page(
            &state,
            session,
            &id,
            StatusCode::BAD_REQUEST,
            None,
            Some("Write the amount in ETH, e.g. 0.25 (at most 18 decimals)."),
        )
        .await;
    };
    let order = SendOrder {
        to: f.to.trim().to_owned(),
        value: wei.to_string(),
        data: None,
        password: Password::new(f.password.clone()),
    };
    match custody::send(&state, &session.auth, &id, order, &client).await {
        Ok(_) => Redirect::to(&format!("/security/wallets/{id}?notice=sent")).into_response(),
        Err(e) => refused(&state, session, &client, Some(&id), &e).await,
    }
}

/// A refused create or send: the step-up forms when that is what is missing, otherwise the
/// page again with the reason.
async fn refused(
    state: &AppState,
    session: &PageSession,
    client: &ClientInfo,
    wallet: Option<&str>,
    e: &ServiceError,
) -> Response {
    match (e, wallet) {
        (ServiceError::StepUpRequired { .. }, _) => stepup::start(state, session, client).await,
        (ServiceError::Unexpected(_), _) => failed(session, e),
        (_, Some(id)) => {
            let text = layout::error_text(e);
            wallet_page(state, session, id, layout::status_of(e), None, Some(&text)).await
        }
        (_, None) => {
            let text = layout::error_text(e);
            match list_page(state, session).await {
                Ok(body) => layout::page(
                    layout::status_of(e),
                    "Wallets",
                    &session.nav(),
                    &format!("{}{body}", layout::alert(Some(&text))),
                ),
                Err(e) => failed(session, &e),
            }
        }
    }
}
