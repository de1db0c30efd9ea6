//! End-to-end: DualConfirm pairs, presence, rotating words and checks, over HTTP and the
//! WebSocket, against a spawned server with a 3-second window.
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

async fn connect(app: &TestApp, token: &str, origin: Option<&str>) -> Result<Socket, u16> {
    let url = app.url("/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_and_client_see_matching_rotating_words_and_check_them() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.dualconfirm.window = Duration::from_secs(3);
            c.dualconfirm.grace = Duration::from_secs(1);
        })
        .spawn()
        .await;
    let admin = person(&app, "admin", &["admin"]).await;
    let advisor = person(&app, "advisor", &["advisor"]).await;
    let client = person(&app, "client", &["client"]).await;
    let stranger = person(&app, "stranger", &["client"]).await;

    // Only an administrator pairs, and only an advisor with a client.
    let body = json!({"advisor_id": advisor.id, "client_id": client.id});
    app.post("/v1/dualconfirm/pairs", Some(&advisor.access), &body)
        .await
        .problem(403, None);
    let wrong = json!({"advisor_id": client.id, "client_id": advisor.id});
    app.post("/v1/dualconfirm/pairs", Some(&admin.access), &wrong)
        .await
        .problem(400, None);
    let pair = app
        .post("/v1/dualconfirm/pairs", Some(&admin.access), &body)
        .await
        .expect(201)
        .json();
    let pair_id = pair["id"].as_str().unwrap().to_owned();
    assert_eq!(pair["advisor"]["id"], advisor.id.as_str(), "{pair}");
    assert_eq!(pair["language"], "en");
    app.post("/v1/dualconfirm/pairs", Some(&admin.access), &body)
        .await
        .problem(409, None);

    // Each side sees the pair; a stranger does not, and cannot reach it.
    for who in [&advisor, &client] {
        let list = app
            .get("/v1/dualconfirm/pairs", Some(&who.access))
            .await
            .expect(200)
            .json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    }
    let list = app
        .get("/v1/dualconfirm/pairs", Some(&stranger.access))
        .await
        .expect(200)
        .json();
    assert_eq!(list, json!([]));
    let words_path = format!("/v1/dualconfirm/pairs/{pair_id}/words");
    app.get(&words_path, Some(&stranger.access))
        .await
        .problem(404, None);

    // No words until both are present.
    app.get(&words_path, Some(&client.access))
        .await
        .problem(409, None);
    assert_eq!(
        connect(&app, &client.access, Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(connect(&app, "not-a-token", None).await.err(), Some(401));
    let mut client_ws = connect(&app, &client.access, Some(&app.base))
        .await
        .unwrap();
    let presence = next_of(&mut client_ws, "presence", 5).await;
    assert_eq!(presence["party"], "advisor");
    assert_eq!(presence["connected"], false);
    app.get(&words_path, Some(&client.access))
        .await
        .problem(409, None);

    // The advisor arrives: both get words, and they mirror each other.
    let mut advisor_ws = connect(&app, &advisor.access, None).await.unwrap();
    let a = next_of(&mut advisor_ws, "words", 5).await;
    let c = next_of(&mut client_ws, "words", 5).await;
    assert_eq!(a["window"], c["window"]);
    assert_eq!(a["say"], c["expect"], "advisor {a} client {c}");
    assert_eq!(c["say"], a["expect"]);
    assert_ne!(a["say"], a["expect"]);
    let word = |v: &Value| v["say"].as_str().unwrap().to_owned();
    for w in [word(&a), word(&c)] {
        assert!((6..=9).contains(&w.chars().count()), "{w}");
    }
    let over_http = app
        .get(&words_path, Some(&client.access))
        .await
        .expect(200)
        .json();
    assert_eq!(over_http["say"], c["say"]);

    // The words rotate: the next message carries the next window, different words, still
    // mirrored.
    let a2 = next_of(&mut advisor_ws, "words", 6).await;
    let c2 = next_of(&mut client_ws, "words", 6).await;
    assert_eq!(
        a2["window"].as_u64(),
        Some(a["window"].as_u64().unwrap() + 1)
    );
    assert_eq!(a2["say"], c2["expect"]);
    assert_ne!((&a2["say"], &a2["expect"]), (&a["say"], &a["expect"]));

    // The client checks what the advisor said: the advisor's word matches (any case and
    // spacing); a wrong word is a mismatch that alerts the advisor.
    let check = format!("/v1/dualconfirm/pairs/{pair_id}/check");
    let current = app
        .get(&words_path, Some(&client.access))
        .await
        .expect(200)
        .json();
    let heard = format!("  {}  ", current["expect"].as_str().unwrap().to_uppercase());
    let verdict = app
        .post(&check, Some(&client.access), &json!({"word": heard}))
        .await
        .expect(200)
        .json();
    assert_eq!(verdict["match"], true, "{verdict}");
    let said_by_client = current["say"].as_str().unwrap();
    let verdict = app
        .post(
            &check,
            Some(&client.access),
            &json!({"word": said_by_client}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(verdict["match"], false, "one's own word is not the other's");
    let alert = next_of(&mut advisor_ws, "alert", 5).await;
    assert_eq!(alert["reason"], "mismatch");
    assert_eq!(alert["by"], "client");

    // Five checks per window, then 429 until the next one.
    let mut refused = None;
    for _ in 0..6 {
        let r = app
            .post(&check, Some(&client.access), &json!({"word": "nothing"}))
            .await;
        if r.status == 429 {
            refused = Some(r.header("retry-after").unwrap().parse::<u64>().unwrap());
            break;
        }
        r.expect(200);
    }
    let retry = refused.expect("the sixth check of a window is refused");
    assert!((1..=3).contains(&retry), "Retry-After {retry}");
    app.post(
        &check,
        Some(&client.access),
        &json!({"word": "x".repeat(65)}),
    )
    .await
    .problem(400, None);

    // The advisor leaves: the client is told, and the words are gone.
    advisor_ws.close(None).await.unwrap();
    let gone = loop {
        let p = next_of(&mut client_ws, "presence", 5).await;
        if p["connected"] == false {
            break p;
        }
    };
    assert_eq!(gone["session"], "waiting");
    app.get(&words_path, Some(&client.access))
        .await
        .problem(409, None);

    // Reconnecting resumes: words again at once.
    let mut advisor_ws = connect(&app, &advisor.access, None).await.unwrap();
    next_of(&mut advisor_ws, "words", 5).await;
    advisor_ws
        .send(Message::Text(r#"{"type":"active"}"#.into()))
        .await
        .unwrap();

    // The audit log has the story, never a word.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = &app.server().state;
    let records = state.ledgers().audit.page(0, 10_000).await.unwrap();
    let events: Vec<&str> = records.iter().map(|r| r.event.event.as_str()).collect();
    for e in [
        "dualconfirm.pair_created",
        "dualconfirm.session_started",
        "dualconfirm.rotation_delivered",
        "dualconfirm.check",
        "dualconfirm.alert",
        "dualconfirm.session_ended",
    ] {
        assert!(events.contains(&e), "no {e} in {events:?}");
    }
    for r in &records {
        let text = format!("{} {}", r.event.event, r.event.detail);
        for w in [word(&a), word(&c), word(&a2), word(&c2)] {
            assert!(!text.contains(&w), "a word reached the audit log: {text}");
        }
    }
    let _ = (&client.email, &advisor.email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advisor_invites_a_client_who_accepts() {
    let app = TestApp::builder().file_mail().spawn().await;
    let advisor = person(&app, "advisor", &["advisor"]).await;
    let client = person(&app, "client", &["client"]).await;
    let nobody = unique_email("nobody");
    for email in [&client.email, &nobody] {
        app.post(
            "/v1/dualconfirm/invitations",
            Some(&advisor.access),
            &json!({"client_email": email, "language": "fr"}),
        )
        .await
        .expect(202);
    }
    app.post(
        "/v1/dualconfirm/invitations",
        Some(&client.access),
        &json!({"client_email": advisor.email}),
    )
    .await
    .problem(403, None);
    // The invitation waits among the client's invitations; no pair exists before.
    let list = app
        .get("/v1/dualconfirm/pairs", Some(&client.access))
        .await
        .expect(200)
        .json();
    assert_eq!(list, json!([]));
    let invitations = app
        .get("/v1/dualconfirm/invitations", Some(&client.access))
        .await
        .expect(200)
        .json();
    let invitation = &invitations["received"][0];
    assert_eq!(invitation["language"], "fr");
    let accept = format!(
        "/v1/dualconfirm/invitations/{}/accept",
        invitation["id"].as_str().unwrap()
    );
    app.post(&accept, Some(&advisor.access), &json!({}))
        .await
        .problem(404, None);
    let accepted = app
        .post(&accept, Some(&client.access), &json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["language"], "fr");
    let id = accepted["id"].as_str().unwrap();
    let changed = app
        .patch(
            &format!("/v1/dualconfirm/pairs/{id}"),
            Some(&client.access),
            &json!({"language": "en"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed["language"], "en");
    app.patch(
        &format!("/v1/dualconfirm/pairs/{id}"),
        Some(&client.access),
        &json!({"language": "de"}),
    )
    .await
    .problem(400, None);
    app.delete(
        &format!("/v1/dualconfirm/pairs/{id}"),
        Some(&advisor.access),
        None,
    )
    .await
    .expect(204);
    let list = app
        .get("/v1/dualconfirm/pairs", Some(&advisor.access))
        .await
        .expect(200)
        .json();
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_closes_when_the_session_ends() {
    let app = TestApp::builder().file_mail().spawn().await;
    let client = person(&app, "client", &["client"]).await;
    let mut socket = connect(&app, &client.access, None).await.unwrap();
    app.delete("/v1/sessions/current", Some(&client.access), None)
        .await
        .expect(204);
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 3 s");
    let frame = close.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 4001);
    assert_eq!(connect(&app, &client.access, None).await.err(), Some(401));
}
