//! End-to-end: the bound on DualConfirm checks per side and window is kept in the store, so
//! consoles that reconnect, a language change that ends the pair's sessions, or checks sent
//! at once do not start it again. On both backends, with a window long enough that a test
//! never sees it turn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{Backend, Reply, TestApp, strong_password, unique_email};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const MAX_CHECKS: u32 = 3;

async fn app(backend: Backend) -> TestApp {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(|c| {
            c.dualconfirm.window = Duration::from_secs(86_400);
            c.dualconfirm.max_checks_per_window = MAX_CHECKS;
        })
        .spawn()
        .await
}

async fn person(app: &TestApp, tag: &str, roles: &[&str]) -> (String, String) {
    let email = unique_email(tag);
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.set_roles(&id, roles).await;
    (id, app.login(&email, &password).await.access)
}

/// A pair made by an administrator: its id and the advisor's and client's access tokens.
async fn pair(app: &TestApp) -> (String, String, String) {
    let (_, admin) = person(app, "admin", &["admin"]).await;
    let (advisor_id, advisor) = person(app, "advisor", &["advisor"]).await;
    let (client_id, client) = person(app, "client", &["client"]).await;
    let body = json!({"advisor_id": advisor_id, "client_id": client_id});
    let pair = app
        .post("/v1/dualconfirm/pairs", Some(&admin), &body)
        .await
        .expect(201)
        .json();
    (pair["id"].as_str().unwrap().to_owned(), advisor, client)
}

async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = app.url("/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next message of `kind` within `secs`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message within {secs} s"))
            .expect("socket open")
            .expect("a message");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

/// Both consoles connected, once the session is live (each has its words).
async fn live(app: &TestApp, advisor: &str, client: &str) -> (Socket, Socket) {
    let mut a = connect(app, advisor).await;
    let mut c = connect(app, client).await;
    next_of(&mut a, "words", 5).await;
    next_of(&mut c, "words", 5).await;
    (a, c)
}

/// Both consoles leave, the advisor first; returns once the server has seen the client go
/// too (its words are gone).
async fn leave(app: &TestApp, pair: &str, (mut a, mut c): (Socket, Socket), client: &str) {
    a.close(None).await.unwrap();
    loop {
        let p = next_of(&mut c, "presence", 5).await;
        if p["connected"] == false {
            break;
        }
    }
    c.close(None).await.unwrap();
    while c.next().await.is_some() {}
    let words = format!("/v1/dualconfirm/pairs/{pair}/words");
    app.get(&words, Some(client)).await.problem(409, None);
    // The server handles the close after the client sees it.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn check(app: &TestApp, pair: &str, token: &str) -> Reply {
    let path = format!("/v1/dualconfirm/pairs/{pair}/check");
    app.post(&path, Some(token), &json!({"word": "nothing"}))
        .await
}

/// Uses up the window's checks of the side of `token`.
async fn use_up(app: &TestApp, pair: &str, token: &str) {
    for left in (0..MAX_CHECKS).rev() {
        let verdict = check(app, pair, token).await.expect(200).json();
        assert_eq!(verdict["attempts_left"], left, "{verdict}");
    }
    check(app, pair, token).await.problem(429, None);
}

async fn reconnecting_does_not_start_the_count_again(backend: Backend) {
    let app = app(backend).await;
    let (pair, advisor, client) = pair(&app).await;
    let consoles = live(&app, &advisor, &client).await;
    use_up(&app, &pair, &client).await;

    leave(&app, &pair, consoles, &client).await;
    let _consoles = live(&app, &advisor, &client).await;
    check(&app, &pair, &client).await.problem(429, None);
    // The other side's count is its own.
    let verdict = check(&app, &pair, &advisor).await.expect(200).json();
    assert_eq!(verdict["attempts_left"], MAX_CHECKS - 1, "{verdict}");
}

async fn a_language_change_does_not_start_the_count_again(backend: Backend) {
    let app = app(backend).await;
    let (pair, advisor, client) = pair(&app).await;
    let (mut a, mut c) = live(&app, &advisor, &client).await;
    use_up(&app, &pair, &advisor).await;

    // The change ends the session: the consoles are told and come back for the new words.
    let changed = app
        .patch(
            &format!("/v1/dualconfirm/pairs/{pair}"),
            Some(&client),
            &json!({"language": "fr"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed["language"], "fr");
    for console in [&mut a, &mut c] {
        let ended = next_of(console, "session", 5).await;
        assert_eq!(ended["reason"], "pair_changed", "{ended}");
    }
    drop((a, c));
    let _consoles = live(&app, &advisor, &client).await;
    check(&app, &pair, &advisor).await.problem(429, None);
}

/// Checks sent at once are counted up to the bound, no further.
async fn concurrent_checks_stop_at_the_bound(backend: Backend) {
    let app = Arc::new(app(backend).await);
    let (pair, advisor, client) = pair(&app).await;
    let _consoles = live(&app, &advisor, &client).await;
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let (app, pair, client) = (app.clone(), pair.clone(), client.clone());
            tokio::spawn(async move { check(&app, &pair, &client).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap().status.as_u16());
    }
    let counted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (counted, refused),
        (MAX_CHECKS as usize, 10 - MAX_CHECKS as usize),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_does_not_start_the_count_again_on_sqlite() {
    reconnecting_does_not_start_the_count_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_does_not_start_the_count_again_on_postgres() {
    reconnecting_does_not_start_the_count_again(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_change_does_not_start_the_count_again_on_sqlite() {
    a_language_change_does_not_start_the_count_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_change_does_not_start_the_count_again_on_postgres() {
    a_language_change_does_not_start_the_count_again(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_stop_at_the_bound_on_sqlite() {
    concurrent_checks_stop_at_the_bound(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_stop_at_the_bound_on_postgres() {
    concurrent_checks_stop_at_the_bound(Backend::Postgres).await;
}
