//! One admitted connection, from the TLS handshake (when there is one) to its close: hyper
//! serves it with upgrades, and the [`Activity`] watchdog closes it when the client is too
//! slow or idle. Every step runs in the connection's own task, so a slow client never holds
//! up the accept loop.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::Shared;
use super::activity::Activity;
use super::caps::Slot;
use super::io::{Deadline, Tracked, Watched};
use crate::telemetry::connections as metrics;
use crate::tls::ClientAddr;

/// Serves one accepted connection until it closes, the watchdog closes it, or the server
/// stops (`stop` turns true: in-flight requests finish, then it closes).
pub(super) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(acceptor) = shared.tls.clone() else {
        return http(stream, peer, slot, &shared, stop).await;
    };
    let handshake = tokio::time::timeout(shared.timeouts.header, acceptor.accept(stream));
    let done = tokio::select! {
        done = handshake => done,
        _ = stop.wait_for(|&signalled| signalled) => return,
    };
    match done {
        Ok(Ok(tls)) => http(tls, peer, slot, &shared, stop).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
        Err(_) => {
            metrics::timed_out("tls_handshake");
            tracing::debug!("TLS handshake timed out");
        }
    }
}

/// HTTP over an established stream (plain TCP or TLS).
async fn http<S>(
    stream: S,
    peer: SocketAddr,
    slot: Slot,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity), slot));
    let service = PerConnection {
        router: shared.router.clone(),
        peer,
        activity: Arc::clone(&activity),
        body_timeout: shared.body_timeout,
    };
    let conn = shared.http.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let watchdog = activity.expired(shared.timeouts);
    tokio::pin!(watchdog);
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
                        metrics::timed_out("header");
                    }
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            why = &mut watchdog => {
                metrics::timed_out(why.label());
                tracing::debug!(reason = why.label(), "closing a slow or idle connection");
                return;
            }
            _ = stop.wait_for(|&signalled| signalled), if !stopping => {
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// The router as hyper calls it on one connection: each request carries the client's
/// address (what `ConnectInfo<ClientAddr>` extracts), its body a deadline, and is counted in
/// flight until its response body is written.
#[derive(Clone)]
struct PerConnection {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

type Responding = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for PerConnection {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Responding;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let request = self.activity.begin();
        let deadline = Instant::now() + self.body_timeout;
        let mut req = req.map(|body| Deadline::new(body, deadline));
        req.extensions_mut()
            .insert(ConnectInfo(ClientAddr(self.peer)));
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(req).await?;
            Ok(response.map(|body| Tracked::new(body, request)))
        })
    }
}
