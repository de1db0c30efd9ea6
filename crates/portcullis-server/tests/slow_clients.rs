//! End-to-end: slow, idle and too many clients (`[connections]`) against a spawned server
//! with a 1-second header timeout and a 3-second idle timeout, over raw TCP so the test, not
//! an HTTP client, decides what is sent and when.
//!
//! Other loopback addresses (127.0.0.2 …, all routed to the loopback on Linux) stand for
//! other clients. Upper bounds on when a
//! connection closes carry a few seconds of slack for a slow, shared machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::{SinkExt as _, StreamExt as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::{TestApp, strong_password, unique_email};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const HEADER: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_secs(3);
/// A close expected at T must come before T + SLACK.
const SLACK: Duration = Duration::from_secs(3);
/// The address that reads `/metrics`, apart from every client a test caps.
const MONITOR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);

/// The header timeout of the cap tests: long enough that every connection a test holds is
/// still open when it checks the cap, even on a slow machine.
const CAP_HEADER: Duration = Duration::from_secs(3);

async fn spawn(max_per_ip: u32, max_total: u32) -> TestApp {
    spawn_with(HEADER, max_per_ip, max_total).await
}

async fn spawn_with(header: Duration, max_per_ip: u32, max_total: u32) -> TestApp {
    TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.connections.header_read_timeout = header;
            c.connections.idle_timeout = IDLE;
            c.connections.max_per_ip = max_per_ip;
            c.connections.max_total = max_total;
        })
        .spawn()
        .await
}

/// A TCP connection to `addr` from the loopback address `from`.
async fn connect_from(addr: SocketAddr, from: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

async fn connect(addr: SocketAddr) -> TcpStream {
    connect_from(addr, Ipv4Addr::LOCALHOST).await
}

/// How long the server took to close `stream` (what it sends is skipped), or `None` when it
/// is still open after `limit`.
async fn closed_within<R: AsyncRead + Unpin>(stream: &mut R, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends `GET path` on `stream` and reads one response (head and `Content-Length` body).
async fn exchange(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("a response within 30 s")
            .unwrap_or(0);
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..end]
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        if data.len() >= end + 4 + length {
            return text;
        }
    }
}

/// `GET /health` on a fresh connection from `from`: the response's status line.
async fn health_from(addr: SocketAddr, from: Ipv4Addr) -> String {
    let mut stream = connect_from(addr, from).await;
    let response = exchange(&mut stream, "/health").await;
    response.lines().next().unwrap_or_default().to_owned()
}

/// The value of one series in `/metrics` (0 when absent), read from [`MONITOR`].
async fn metric(addr: SocketAddr, series: &str) -> f64 {
    let mut stream = connect_from(addr, MONITOR).await;
    let text = exchange(&mut stream, "/metrics").await;
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

const REFUSED_PER_IP: &str = r#"portcullis_connections_refused_total{reason="per_ip"}"#;
const REFUSED_TOTAL: &str = r#"portcullis_connections_refused_total{reason="total"}"#;
const TIMED_OUT_HEADER: &str = r#"portcullis_connections_timed_out_total{phase="header"}"#;
const TIMED_OUT_BODY: &str = r#"portcullis_connections_timed_out_total{phase="body"}"#;
const TIMED_OUT_IDLE: &str = r#"portcullis_connections_timed_out_total{phase="idle"}"#;

#[tokio::test]
async fn half_heads_beyond_the_per_ip_cap_are_refused_at_once_then_time_out() {
    let app = spawn_with(CAP_HEADER, 50, 1000).await;
    let addr = app.server().addr;
    let (refused_before, timed_out_before) = (
        metric(addr, REFUSED_PER_IP).await,
        metric(addr, TIMED_OUT_HEADER).await,
    );

    // 50 half-sent heads from one address fill its cap…
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut stream = connect(addr).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: lo")
            .await
            .unwrap();
        held.push(stream);
    }
    // …so 30 more are closed at once, before anything is read from them…
    for _ in 0..30 {
        let mut stream = connect(addr).await;
        let closed = closed_within(&mut stream, SLACK).await;
        assert!(
            closed.is_some(),
            "a connection over the per-IP cap stayed open"
        );
    }
    // …while another address is served as usual.
    let other = Ipv4Addr::new(127, 0, 0, 2);
    assert_eq!(health_from(addr, other).await, "HTTP/1.1 200 OK");

    // The half heads are closed by the header timeout, and the address is served again.
    for stream in &mut held {
        let closed = closed_within(stream, CAP_HEADER + SLACK).await;
        assert!(
            closed.is_some(),
            "a half-sent head outlived the header timeout"
        );
    }
    assert_eq!(
        health_from(addr, Ipv4Addr::LOCALHOST).await,
        "HTTP/1.1 200 OK"
    );

    // Metrics are process-wide and tests run side by side: at least ours were counted.
    assert!(metric(addr, REFUSED_PER_IP).await >= refused_before + 30.0);
    assert!(metric(addr, TIMED_OUT_HEADER).await >= timed_out_before + 50.0);
}

#[tokio::test]
async fn the_total_cap_refuses_every_address() {
    let app = spawn_with(CAP_HEADER, 4, 4).await;
    let addr = app.server().addr;
    let refused_before = metric(addr, REFUSED_TOTAL).await;
    let mut held = Vec::new();
    for i in 1..=4 {
        held.push(connect_from(addr, Ipv4Addr::new(127, 0, 1, i)).await);
    }
    let mut late = connect_from(addr, Ipv4Addr::new(127, 0, 1, 5)).await;
    let closed = closed_within(&mut late, SLACK).await;
    assert!(
        closed.is_some(),
        "a connection over the total cap stayed open"
    );

    // Silent connections are closed by the header timeout; then everyone is served again.
    for stream in &mut held {
        assert!(closed_within(stream, CAP_HEADER + SLACK).await.is_some());
    }
    let late = Ipv4Addr::new(127, 0, 1, 5);
    assert_eq!(health_from(addr, late).await, "HTTP/1.1 200 OK");
    assert!(metric(addr, REFUSED_TOTAL).await >= refused_before + 1.0);
}

#[tokio::test]
async fn a_head_sent_byte_by_byte_is_closed_after_the_header_timeout() {
    let mut app = spawn(50, 1000).await;
    let addr = app.server().addr;
    let mut stream = connect(addr).await;
    let (mut reader, mut writer) = stream.split();
    // A byte every 200 ms never finishes the head, and never resets the clock.
    let drip = async {
        writer.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        for byte in b"X-Slow: ".iter().cycle() {
            sleep(Duration::from_millis(200)).await;
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    let closed = tokio::select! {
        closed = closed_within(&mut reader, HEADER + SLACK) => closed,
        () = drip => unreachable!(),
    };
    let after = closed.expect("a slowly dripped head outlived the header timeout");
    assert!(
        after >= HEADER / 2,
        "closed before the header timeout: {after:?}"
    );

    // A half head does not hold up a shutdown either.
    let mut slow = connect(addr).await;
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: lo")
        .await
        .unwrap();
    let stopped = timeout(HEADER + SLACK, app.stop()).await;
    assert!(
        stopped.is_ok(),
        "the server waited on a half-sent head to stop"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn(50, 1000).await;
    let addr = app.server().addr;
    let idle_before = metric(addr, TIMED_OUT_IDLE).await;
    let mut stream = connect(addr).await;
    assert!(
        exchange(&mut stream, "/health")
            .await
            .starts_with("HTTP/1.1 200")
    );

    // Waiting between requests is idling, not a slow head: past the header timeout (but
    // within the idle one) the connection still serves.
    sleep(HEADER + Duration::from_millis(500)).await;
    assert!(
        exchange(&mut stream, "/health")
            .await
            .starts_with("HTTP/1.1 200")
    );

    let closed = closed_within(&mut stream, IDLE + SLACK).await;
    let after = closed.expect("an idle keep-alive connection outlived the idle timeout");
    assert!(
        after >= IDLE / 2,
        "closed before the idle timeout: {after:?}"
    );
    assert!(metric(addr, TIMED_OUT_IDLE).await >= idle_before + 1.0);
}

#[tokio::test]
async fn a_body_trickled_in_is_cut_off_after_the_body_timeout() {
    let body_timeout = Duration::from_secs(2);
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.connections.body_read_timeout = body_timeout)
        .spawn()
        .await;
    let addr = app.server().addr;
    let before = metric(addr, TIMED_OUT_BODY).await;
    let mut stream = connect(addr).await;
    let (mut reader, mut writer) = stream.split();
    let drip = async {
        let head = "POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\n\
                    Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
        writer.write_all(head.as_bytes()).await.unwrap();
        loop {
            sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    let closed = tokio::select! {
        closed = closed_within(&mut reader, body_timeout + SLACK) => closed,
        () = drip => unreachable!(),
    };
    let after = closed.expect("a trickled body held its connection past the body timeout");
    assert!(
        after >= body_timeout / 2,
        "cut off before the body timeout: {after:?}"
    );
    assert!(metric(addr, TIMED_OUT_BODY).await >= before + 1.0);
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn console(app: &TestApp, token: &str) -> Socket {
    let url = app.url("/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Pings and waits for the pong: the socket is open and served.
async fn answers_ping(socket: &mut Socket, tag: u8) {
    socket.send(Message::Ping(vec![tag].into())).await.unwrap();
    let deadline = Instant::now() + SLACK;
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a pong in time")
            .expect("the socket is open")
            .expect("a message");
        if let Message::Pong(data) = msg {
            assert_eq!(data.as_ref(), [tag]);
            return;
        }
    }
}

#[tokio::test]
async fn websockets_outlive_the_http_timeouts_but_count_against_the_caps() {
    let mut app = spawn(2, 1000).await;
    let addr = app.server().addr;
    // No idle pooled connection of the HTTP client may take a place under the cap.
    app.client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let (email, password) = (unique_email("ws"), strong_password());
    app.register_active(&email, &password).await;
    let token = app.login(&email, &password).await.access;

    let mut first = console(&app, &token).await;
    // Quiet past both timeouts, then in use past them again: the watchdog let go at the
    // upgrade.
    sleep(IDLE + HEADER + Duration::from_secs(1)).await;
    answers_ping(&mut first, 0).await;
    let busy_until = Instant::now() + IDLE + HEADER;
    let mut tag = 1;
    while Instant::now() < busy_until {
        let active = Message::Text(r#"{"type":"active"}"#.into());
        first.send(active).await.unwrap();
        answers_ping(&mut first, tag).await;
        tag = tag.wrapping_add(1);
        sleep(Duration::from_millis(300)).await;
    }

    // Two sockets fill the address's cap of two.
    let mut second = console(&app, &token).await;
    answers_ping(&mut second, 0).await;
    let mut third = connect(addr).await;
    let closed = closed_within(&mut third, SLACK).await;
    assert!(
        closed.is_some(),
        "open WebSockets did not count against the cap"
    );

    // A closed socket gives its place back.
    first.close(None).await.unwrap();
    while let Some(Ok(_)) = first.next().await {}
    let deadline = Instant::now() + SLACK;
    loop {
        let mut stream = connect(addr).await;
        if closed_within(&mut stream, Duration::from_millis(300))
            .await
            .is_none()
        {
            assert!(
                exchange(&mut stream, "/health")
                    .await
                    .starts_with("HTTP/1.1 200")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed WebSocket kept its place"
        );
    }
    answers_ping(&mut second, 1).await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.connections.header_read_timeout = HEADER;
            c.tls = Some(portcullis_server::config::TlsConfig {
                cert_file,
                key_file,
            });
        })
        .spawn()
        .await;
    let addr = app.server().addr;
    let mut silent = connect(addr).await;
    let closed = closed_within(&mut silent, HEADER + SLACK).await;
    assert!(
        closed.is_some(),
        "a connection without a TLS handshake stayed open"
    );

    let mut half = connect(addr).await;
    // The first bytes of a ClientHello record, and no more.
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    let closed = closed_within(&mut half, HEADER + SLACK).await;
    assert!(closed.is_some(), "a half-sent TLS handshake stayed open");
}
