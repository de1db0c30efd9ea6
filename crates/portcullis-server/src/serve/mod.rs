//! The accept loop: every connection, plain or TLS, goes through it, so slow, idle and
//! too many clients meet the same rules (`[connections]`).
//!
//! `axum::serve` runs hyper without a timer, so its header timeout never fires: a thousand
//! clients that connect and send nothing, or half a head, keep their sockets until the
//! server runs out of file descriptors. Here:
//!
//! - at accept, before anything is read, a connection takes a place under the per-address
//!   and total caps ([`caps`]) or is closed at once;
//! - a TLS handshake must finish within the header timeout, a request body within the body
//!   timeout ([`io::Deadline`]);
//! - hyper serves HTTP/1 with upgrades and its own header timer (a backstop, see
//!   [`Timeouts`]), and the connection's watchdog ([`activity`]) closes it when a head is too
//!   slow or a keep-alive connection idles too long;
//! - an upgraded connection (the DualConfirm WebSocket) leaves hyper and the watchdog behind
//!   and follows the socket's own rules, but keeps its place under the caps until it closes;
//! - on shutdown the loop stops accepting, idle connections close, in-flight requests
//!   finish, and [`serve`] returns when every connection it served has ended (upgraded
//!   sockets are not waited for, as with `axum::serve`).
//!
//! Counters and the open-connection gauge are in `telemetry::connections`.

mod activity;
mod caps;
mod connection;
mod io;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::ConnectionsConfig;
use crate::telemetry::connections as metrics;
use activity::Timeouts;
use caps::Caps;

/// What every connection task shares.
struct Shared {
    router: Router,
    tls: Option<TlsAcceptor>,
    http: auto::Builder<TokioExecutor>,
    timeouts: Timeouts,
    body_timeout: Duration,
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` resolves, then
/// drains the connections.
///
/// # Errors
/// None today: accept errors (a full file-descriptor table, a client gone before accept)
/// are logged and retried, so one bad moment never stops the server.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    limits: &ConnectionsConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let timeouts = Timeouts {
        header: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let shared = Arc::new(Shared {
        router,
        tls: tls.map(TlsAcceptor::from),
        http: http_builder(timeouts),
        timeouts,
        body_timeout: limits.body_read_timeout,
    });
    warn_if_above_descriptor_limit(limits.max_total);
    let caps = Caps::new(limits.max_per_ip, limits.max_total);
    let (stop_tx, stop) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors or memory: give closing connections a moment.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match caps.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                metrics::refused(refusal.label());
                tracing::debug!(cap = refusal.label(), "connection refused");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection::run(
            stream,
            peer,
            slot,
            Arc::clone(&shared),
            stop.clone(),
        ));
    }
    drop(listener);
    drop(stop);
    let _ = stop_tx.send(true);
    // Each connection task holds a receiver until it ends.
    stop_tx.closed().await;
    Ok(())
}

/// HTTP/1 with hyper's timer. hyper restarts its header timer whenever it waits for a head,
/// between keep-alive requests too, so it is set to the longest wait the watchdog allows
/// (idle, then a head): a backstop that never fires before the watchdog's own rule. Without
/// an explicit value hyper would apply its 30-second default to keep-alive waits as well.
fn http_builder(timeouts: Timeouts) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle + timeouts.header)
        .keep_alive(true);
    builder
}

/// Descriptors kept for what is not a client connection: the database pool, the listener,
/// log and key files.
const DESCRIPTOR_RESERVE: u64 = 64;

/// Warns when `max_total` connections could not all be open at once: each takes a file
/// descriptor, and accepts failing for want of one is what the cap is there to prevent.
fn warn_if_above_descriptor_limit(max_total: u32) {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| soft_open_file_limit(&limits));
    if let Some(limit) = limit
        && u64::from(max_total) + DESCRIPTOR_RESERVE > limit
    {
        tracing::warn!(
            max_total,
            open_file_limit = limit,
            "connections.max_total is above what this process may open (ulimit -n, systemd \
             LimitNOFILE=): raise the limit or lower max_total, or a flood of connections can \
             still use up the file descriptors"
        );
    }
}

/// The soft "Max open files" of Linux's `/proc/self/limits` (none when unlimited).
fn soft_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::soft_open_file_limit;

    #[test]
    fn the_soft_open_file_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max stack size            8388608              unlimited            bytes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(soft_open_file_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(soft_open_file_limit(unlimited), None);
        assert_eq!(soft_open_file_limit(""), None);
    }
}
