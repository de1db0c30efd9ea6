//! `[connections]`: how long a client may take to send a request (head and body), how long
//! an idle keep-alive connection stays open, and how many connections one address (and
//! everyone together) may hold. Each open connection costs a file descriptor and memory whether or not
//! it sends anything, so these bounds are what keeps slow or silent clients from starving
//! the server (see `crate::serve`).

use super::duration::secs;
use super::error::{InvalidValue, positive};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Connection timeouts and caps.
///
/// Behind a reverse proxy every connection comes from the proxy's address, so the per-IP
/// cap bounds the proxy as a whole: raise `max_per_ip` to `max_total` there and let the proxy
/// limit its own clients.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// A request head must arrive whole within this: counted from the connection's start
    /// (after the TLS handshake, which has the same bound) for the first request, and from
    /// its first byte for later ones.
    #[serde(rename = "header_read_timeout_secs", with = "secs")]
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed when the next request's
    /// first byte does not arrive within this. WebSocket connections are not bound by it: once upgraded they
    /// follow the socket's own rules (the DualConfirm feed closes when the access token
    /// expires or the session ends).
    #[serde(rename = "idle_timeout_secs", with = "secs")]
    pub idle_timeout: Duration,
    /// A request body must arrive whole within this from the end of its head; a client
    /// that trickles one in is answered with an error and the connection closed.
    #[serde(rename = "body_read_timeout_secs", with = "secs")]
    pub body_read_timeout: Duration,
    /// Open connections (WebSockets included) from one client address; IPv6 addresses count
    /// by their /64 network, which one host usually holds whole. More are closed at once.
    pub max_per_ip: u32,
    /// Open connections (WebSockets included) from everyone: room for the 10,000 DualConfirm
    /// consoles a node is sized for, beside HTTP traffic. Keep it below the process's
    /// file-descriptor limit (`ulimit -n`) less what the database pool and logs use; the
    /// server warns at start when it is not.
    pub max_total: u32,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_per_ip: 256,
            max_total: 16_384,
        }
    }
}

impl ConnectionsConfig {
    /// A zero timeout would close every connection and a zero cap refuse them all; a
    /// header timeout over five minutes is no bound at all against a slow client, and a
    /// per-IP cap above the total one would never apply.
    ///
    /// # Errors
    /// The first value out of bounds.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !(1..=300).contains(&self.header_read_timeout.as_secs()) {
            return Err(InvalidValue::new(
                "connections.header_read_timeout_secs",
                "must be 1 to 300",
            ));
        }
        positive("connections.idle_timeout_secs", self.idle_timeout.is_zero())?;
        positive(
            "connections.body_read_timeout_secs",
            self.body_read_timeout.is_zero(),
        )?;
        positive("connections.max_per_ip", self.max_per_ip == 0)?;
        positive("connections.max_total", self.max_total == 0)?;
        if self.max_per_ip > self.max_total {
            return Err(InvalidValue::new(
                "connections.max_per_ip",
                "must not be above connections.max_total",
            ));
        }
        Ok(())
    }
}
