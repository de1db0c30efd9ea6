//! A keep-alive HTTP/1.1 load generator for loopback, as light as a client can be so that the
//! server, not the client, is what the figures show.
//!
//! Each connection sends one fixed request, reads the answer (status line, headers,
//! `Content-Length` body) and sends the next: no pipelining, no allocation per request beyond
//! the latency sample. Every answer must be 200; anything else stops the run, since a
//! throughput of refusals measures nothing.

use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use super::proc::cpu;
use super::{Phase, percentile};

/// Longest response head we accept.
const MAX_HEAD: usize = 64 * 1024;

/// What one load run achieved.
pub(super) struct Load {
    pub(super) phase: Phase,
    /// Latency of every request, sorted.
    pub(super) latencies: Vec<Duration>,
    /// Bytes of every response, head and body, summed.
    pub(super) response_bytes: u64,
}

impl Load {
    pub(super) fn p50(&self) -> Duration {
        percentile(&self.latencies, 0.50)
    }

    pub(super) fn p99(&self) -> Duration {
        percentile(&self.latencies, 0.99)
    }

    /// Mean size of a response, head and body.
    pub(super) fn bytes_per_response(&self) -> u64 {
        self.response_bytes / self.phase.ops.max(1)
    }

    /// Adds another run against the same target.
    pub(super) fn plus(mut self, other: Load) -> Load {
        self.phase = self.phase.plus(other.phase);
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        self.response_bytes += other.response_bytes;
        self
    }
}

/// `connections` keep-alive connections to `addr`, each sending `request` back to back for
/// `window`; after one warm-up request each, they start together.
///
/// # Errors
/// A connection failed or an answer was not 200.
pub(super) async fn run(
    addr: SocketAddr,
    request: Arc<[u8]>,
    connections: usize,
    window: Duration,
) -> anyhow::Result<Load> {
    let barrier = Arc::new(Barrier::new(connections + 1));
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(addr, request.clone(), barrier.clone(), window)))
        .collect();
    barrier.wait().await;
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let mut latencies = Vec::new();
    let mut response_bytes = 0;
    let mut failure = None;
    for worker in workers {
        match worker.await? {
            Ok((samples, bytes)) => {
                latencies.extend(samples);
                response_bytes += bytes;
            }
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    let phase = Phase {
        ops: latencies.len() as u64,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    };
    if let Some(e) = failure {
        return Err(e);
    }
    latencies.sort_unstable();
    Ok(Load {
        phase,
        latencies,
        response_bytes,
    })
}

/// One connection: connect and warm up, the barrier, then requests until the window closes.
/// Returns the latencies and the response bytes read.
async fn worker(
    addr: SocketAddr,
    request: Arc<[u8]>,
    barrier: Arc<Barrier>,
    window: Duration,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let warm_up = async {
        let mut conn = Connection::open(addr).await?;
        conn.exchange(&request).await?;
        anyhow::Ok(conn)
    }
    .await;
    barrier.wait().await;
    let mut conn = warm_up?;
    let deadline = Instant::now() + window;
    let mut latencies = Vec::new();
    let mut bytes = 0;
    loop {
        let t = Instant::now();
        if t >= deadline {
            return Ok((latencies, bytes));
        }
        bytes += conn.exchange(&request).await? as u64;
        latencies.push(t.elapsed());
    }
}

/// A keep-alive connection and what has been read from it but not yet consumed.
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        })
    }

    /// Sends `request` and reads its answer, which must be 200; returns its size in bytes.
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<usize> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                bail!("response head longer than {MAX_HEAD} bytes");
            }
            self.fill().await?;
        };
        let head = Head::parse(&self.buf[..head_end])?;
        let end = head_end + head.content_length;
        while self.buf.len() < end {
            self.fill().await?;
        }
        if head.status != 200 {
            let body = String::from_utf8_lossy(&self.buf[head_end..end]);
            bail!("answered {}, not 200: {body}", head.status);
        }
        self.buf.drain(..end);
        Ok(end)
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        self.buf.reserve(4096);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("the server closed a keep-alive connection");
        }
        Ok(())
    }
}

/// What the client needs of a response head.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    content_length: usize,
}

impl Head {
    /// Parses `HTTP/1.1 <status> …` and the headers; only `Content-Length` framing on a
    /// connection kept alive is understood.
    fn parse(head: &[u8]) -> anyhow::Result<Self> {
        let head = std::str::from_utf8(head).context("response head is not UTF-8")?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let status = match (parts.next(), parts.next()) {
            (Some("HTTP/1.1"), Some(code)) => code.parse().context("status code")?,
            _ => bail!("not an HTTP/1.1 status line: {status_line:?}"),
        };
        let mut content_length = 0;
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').context("header without ':'")?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().context("Content-Length")?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("Transfer-Encoding {value} is not supported by the bench client");
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                bail!("the server will close the connection (Connection: close)");
            }
        }
        Ok(Self {
            status,
            content_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_length() {
        let head = b"HTTP/1.1 401 Unauthorized\r\ncontent-type: x\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(
            Head::parse(head).ok(),
            Some(Head {
                status: 401,
                content_length: 12
            })
        );
        let empty = b"HTTP/1.1 200 OK\r\ndate: now\r\n\r\n";
        assert_eq!(Head::parse(empty).ok().map(|h| h.content_length), Some(0));
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n").is_err());
        assert!(Head::parse(b"garbage\r\n\r\n").is_err());
    }
}
