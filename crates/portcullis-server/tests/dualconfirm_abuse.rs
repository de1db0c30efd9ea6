//! DualConfirm under abuse, end to end against a spawned server: invitations that tell an
//! advisor nothing about the address invited and are bounded per advisor, the verified
//! identity of the other party, a console that floods `active` messages, and an account that
//! loses its role while its console is open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, strong_password, unique_email};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Person {
    id: String,
    email: String,
    access: String,
}

async fn person(app: &TestApp, tag: &str, roles: &[&str]) -> Person {
    let email = unique_email(tag);
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.set_roles(&id, roles).await;
    let access = app.login(&email, &password).await.access;
    Person { id, email, access }
}

async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = app.url("/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Every text message that arrives within `wait`, as JSON; panics on a close.
async fn messages_for(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    while let Ok(next) = tokio::time::timeout_at(deadline, socket.next()).await {
        match next {
            Some(Ok(Message::Text(text))) => out.push(serde_json::from_str(text.as_str()).unwrap()),
            Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
    out
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

/// The close frame's code within `secs`, skipping messages.
async fn close_code(socket: &mut Socket, secs: u64) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("not closed within {secs} s"))
        {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// An answer with what differs between invitations (id, address, times) left out.
fn shape(mut v: Value) -> Value {
    for key in ["id", "client_email", "created_at", "expires_at"] {
        if let Some(o) = v.as_object_mut() {
            o.remove(key);
        }
    }
    v
}

async fn invite(app: &TestApp, advisor: &Person, email: &str) -> support::Reply {
    app.post(
        "/v1/dualconfirm/invitations",
        Some(&advisor.access),
        &json!({"client_email": email}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_tells_the_advisor_nothing_about_the_address_until_accepted() {
    let app = TestApp::builder().file_mail().spawn().await;
    let advisor = person(&app, "inv-advisor", &["advisor"]).await;
    let client = person(&app, "inv-client", &["client"]).await;
    let other = person(&app, "inv-other", &["user"]).await;
    let nobody = unique_email("inv-nobody");

    let mut answers = Vec::new();
    let mut ids = Vec::new();
    for email in [&client.email, &other.email, &nobody] {
        let reply = invite(&app, &advisor, email).await;
        reply.expect(202);
        let body = reply.json();
        assert_eq!(body["client_email"], email.as_str(), "{body}");
        ids.push(body["id"].clone());
        answers.push(shape(body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    // Inviting again answers the pending invitation.
    let again = invite(&app, &advisor, &client.email).await.json();
    let sent = app
        .get("/v1/dualconfirm/invitations", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    let sent = sent["sent"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(again["id"], ids[0]);
    // The list holds the three (invitations of one second come in any order).
    assert!(
        ids.iter().all(|id| sent.iter().any(|i| i["id"] == *id)),
        "{sent:?}"
    );
    let shapes: Vec<Value> = sent.into_iter().map(shape).collect();
    assert!(shapes.iter().all(|s| *s == shapes[0]), "{shapes:?}");
    // No pair, and no name, until the client accepts.
    let pairs = app
        .get("/v1/dualconfirm/pairs", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    assert_eq!(pairs, json!([]));

    // The account that is not a client sees nothing; the client sees the advisor, by
    // e-mail address, and accepts.
    let theirs = app
        .get("/v1/dualconfirm/invitations", Some(&other.access))
        .await
        .expect(200)
        .json();
    assert_eq!(theirs, json!({"sent": [], "received": []}));
    let received = app
        .get("/v1/dualconfirm/invitations", Some(&client.access))
        .await
        .expect(200)
        .json();
    let received = received["received"].as_array().unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["advisor"]["name"], advisor.email.as_str());
    let id = received[0]["id"].as_str().unwrap();
    // Only the invited client accepts.
    let accept = format!("/v1/dualconfirm/invitations/{id}/accept");
    app.post(&accept, Some(&other.access), &json!({}))
        .await
        .problem(404, None);
    let pair = app
        .post(&accept, Some(&client.access), &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(pair["status"], "active");
    app.post(&accept, Some(&client.access), &json!({}))
        .await
        .problem(404, None);
    let pairs = app
        .get("/v1/dualconfirm/pairs", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    assert_eq!(pairs[0]["client"]["name"], client.email.as_str(), "{pairs}");
    let left = app
        .get("/v1/dualconfirm/invitations", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    assert_eq!(left["sent"].as_array().unwrap().len(), 2);
    // The advisor cancels one; nobody else can.
    let cancel = format!(
        "/v1/dualconfirm/invitations/{}",
        left["sent"][0]["id"].as_str().unwrap()
    );
    app.delete(&cancel, Some(&client.access), None)
        .await
        .problem(404, None);
    app.delete(&cancel, Some(&advisor.access), None)
        .await
        .expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advisor_has_a_bounded_number_of_invitations() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.dualconfirm.max_pending_invitations = 3;
            c.dualconfirm.invitations_per_hour = 5;
        })
        .spawn()
        .await;
    let advisor = person(&app, "cap-advisor", &["advisor"]).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let reply = invite(&app, &advisor, &unique_email(&format!("cap-{n}"))).await;
        ids.push(reply.expect(202).json()["id"].as_str().unwrap().to_owned());
    }
    // A fourth pending invitation: 429, with the wait until the first expires.
    let refused = invite(&app, &advisor, &unique_email("cap-3")).await;
    refused.problem(429, None);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 3600, "Retry-After {wait}");
    // Cancelled, a place frees; but no more than five an hour, cancelled or not.
    for id in &ids[..2] {
        app.delete(
            &format!("/v1/dualconfirm/invitations/{id}"),
            Some(&advisor.access),
            None,
        )
        .await
        .expect(204);
    }
    invite(&app, &advisor, &unique_email("cap-4"))
        .await
        .expect(202);
    invite(&app, &advisor, &unique_email("cap-5"))
        .await
        .expect(202);
    app.delete(
        &format!("/v1/dualconfirm/invitations/{}", ids[2]),
        Some(&advisor.access),
        None,
    )
    .await
    .expect(204);
    // Two pending, five sent this hour: the wait is until the first of them is an hour old.
    let refused = invite(&app, &advisor, &unique_email("cap-6")).await;
    refused.problem(429, None);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "Retry-After {wait}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_names_the_other_party_by_a_verified_identity() {
    let app = TestApp::builder().file_mail().spawn().await;
    let admin = person(&app, "vid-admin", &["admin"]).await;
    let advisor = person(&app, "vid-advisor", &["advisor"]).await;
    let client = person(&app, "vid-client", &["client"]).await;
    // The advisor calls itself something it is not.
    app.patch(
        "/v1/me",
        Some(&advisor.access),
        &json!({"display_name": "Your Bank Security Team"}),
    )
    .await
    .expect(200);
    let pair = app
        .post(
            "/v1/dualconfirm/pairs",
            Some(&admin.access),
            &json!({"advisor_id": advisor.id, "client_id": client.id}),
        )
        .await
        .expect(201)
        .json();
    let shown = app
        .get("/v1/dualconfirm/pairs", Some(&client.access))
        .await
        .expect(200)
        .json();
    let party = &shown[0]["advisor"];
    assert_eq!(party["name"], advisor.email.as_str(), "{party}");
    assert_eq!(party["verified_by"], "email");
    assert_eq!(party["own_label"], "Your Bank Security Team");
    let page = console(&app, &client).await;
    assert!(
        page.contains(&format!(r#"data-name="{}""#, advisor.email)),
        "the console names the advisor by e-mail: {page}"
    );
    assert!(page.contains("calls themselves “Your Bank Security Team”"));

    // An administrator names the advisor: that is the name shown; only an administrator can.
    let names = format!(
        "/v1/dualconfirm/pairs/{}/names",
        pair["id"].as_str().unwrap()
    );
    let body = json!({"advisor_name": "Ada Lovelace, Example Bank"});
    app.send(
        app.request(reqwest::Method::PUT, &names, Some(&advisor.access))
            .json(&body),
    )
    .await
    .problem(403, None);
    let named = app
        .send(
            app.request(reqwest::Method::PUT, &names, Some(&admin.access))
                .json(&body),
        )
        .await;
    let named = named.expect(200).json();
    assert_eq!(named["advisor"]["name"], "Ada Lovelace, Example Bank");
    assert_eq!(named["advisor"]["verified_by"], "administrator");
    assert_eq!(named["client"]["name"], client.email.as_str());
    let page = console(&app, &client).await;
    assert!(
        page.contains(r#"data-name="Ada Lovelace, Example Bank""#),
        "{page}"
    );
}

async fn console(app: &TestApp, who: &Person) -> String {
    let reply = app
        .client
        .get(app.url("/dualconfirm"))
        .header("cookie", format!("portcullis_at={}", who.access))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    reply.text().await.unwrap()
}

/// Two consoles of a pair, both with words: (advisor, client, advisor's socket, client's).
async fn live_pair(app: &TestApp) -> (Person, Person, String, Socket, Socket) {
    let admin = person(app, "live-admin", &["admin"]).await;
    let advisor = person(app, "live-advisor", &["advisor"]).await;
    let client = person(app, "live-client", &["client"]).await;
    let pair = app
        .post(
            "/v1/dualconfirm/pairs",
            Some(&admin.access),
            &json!({"advisor_id": advisor.id, "client_id": client.id}),
        )
        .await
        .expect(201)
        .json();
    let mut client_ws = connect(app, &client.access).await;
    let mut advisor_ws = connect(app, &advisor.access).await;
    next_of(&mut advisor_ws, "words", 5).await;
    next_of(&mut client_ws, "words", 5).await;
    let id = pair["id"].as_str().unwrap().to_owned();
    (advisor, client, id, advisor_ws, client_ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_activity_reaches_the_other_party_as_a_handful_of_messages() {
    let app = TestApp::builder().file_mail().spawn().await;
    let (_advisor, _client, _pair, mut advisor_ws, mut client_ws) = live_pair(&app).await;
    messages_for(&mut advisor_ws, Duration::from_millis(300)).await;
    for _ in 0..1000 {
        client_ws
            .send(Message::Text(r#"{"type":"active"}"#.into()))
            .await
            .unwrap();
    }
    let heard = messages_for(&mut advisor_ws, Duration::from_secs(2)).await;
    let presence = heard.iter().filter(|m| m["type"] == "presence").count();
    assert!(presence <= 3, "{presence} presence messages: {heard:?}");
    // Both consoles are still open and live.
    client_ws
        .send(Message::Text(r#"{"type":"active"}"#.into()))
        .await
        .unwrap();
    messages_for(&mut client_ws, Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_advisor_role_closes_its_console_and_ends_dualconfirm_for_its_tokens() {
    let app = TestApp::builder().file_mail().spawn().await;
    let (advisor, client, pair, mut advisor_ws, mut client_ws) = live_pair(&app).await;
    app.set_roles(&advisor.id, &[]).await;
    // Within the pair watch's second or so: the advisor's console closes, the client's hears
    // the session ended.
    assert_eq!(close_code(&mut advisor_ws, 4).await, 4003);
    let ended = next_of(&mut client_ws, "session", 4).await;
    assert_eq!(ended["state"], "ended");
    // The advisor's token, minted with the role, no longer reaches the pair.
    let words = format!("/v1/dualconfirm/pairs/{pair}/words");
    app.get(&words, Some(&advisor.access))
        .await
        .problem(404, None);
    app.post(
        &format!("/v1/dualconfirm/pairs/{pair}/check"),
        Some(&advisor.access),
        &json!({"word": "anything"}),
    )
    .await
    .problem(404, None);
    let list = app
        .get("/v1/dualconfirm/pairs", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    assert_eq!(list, json!([]));
    invite(&app, &advisor, &unique_email("after"))
        .await
        .problem(403, None);
    // A console that reconnects joins nothing, and the client's session does not come back.
    let mut again = connect(&app, &advisor.access).await;
    let heard = messages_for(&mut again, Duration::from_millis(1500)).await;
    assert!(heard.is_empty(), "{heard:?}");
    app.get(&words, Some(&client.access))
        .await
        .problem(409, None);
}
