//! The software wallet on a wire: a serial port (blocking I/O) or TCP (tokio).
//!
//! Both run the same [`Connection`]: bytes in, response frames out, no I/O of its own. It
//! answers every frame, and every stretch of bytes that is no frame, with exactly one
//! response (see [`crate::codec::Decoded`] for how it finds the next frame after garbage;
//! noise that trickles in byte by byte is still one stretch until the next frame), and two
//! timers guard it:
//! - a partial frame that gets no byte for `frame_timeout` is dropped and answered
//!   [`ErrorCode::BadFrame`] (a truncated frame cannot wedge the line);
//! - a session that makes no request for `idle_lock` is locked again. A serial line has no
//!   "connection closed", so this is what ends an unlock there when its host goes away.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::codec::{
    Decoded, ErrorCode, FrameError, MAX_FRAME, MessageError, Reader, Request, Response,
};
use crate::device::{Device, Session};

/// The timers of a [`Connection`].
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// Silence after which a partial frame is dropped.
    pub frame_timeout: Duration,
    /// Idleness after which an unlocked session locks.
    pub idle_lock: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            frame_timeout: Duration::from_secs(2),
            idle_lock: Duration::from_secs(300),
        }
    }
}

/// One host's connection to the wallet: its receive buffer and its session.
pub struct Connection {
    reader: Reader,
    session: Session,
    timers: Timers,
    last_request: Instant,
    /// Bytes that are no frame were answered, and no frame came since: more noise is
    /// dropped silently (noise trickling in byte by byte still gets one answer).
    in_noise: bool,
}

fn lock(device: &Mutex<Device>) -> std::sync::MutexGuard<'_, Device> {
    device.lock().unwrap_or_else(PoisonError::into_inner)
}

fn append(response: &Response<'_>, out: &mut Vec<u8>) {
    let mut frame = [0u8; MAX_FRAME];
    // Responses are at most 38 bytes of payload: encoding cannot fail.
    if let Ok(n) = response.encode(&mut frame) {
        out.extend_from_slice(&frame[..n]);
    }
    if let Response::Error(e) = response {
        eprintln!(
            "portcullis-wallet: refused: {:?} ({} PIN tries left)",
            e.code, e.tries_left
        );
    }
}

impl Connection {
    /// A new, locked connection.
    pub fn new(timers: Timers) -> Self {
        Self {
            reader: Reader::new(),
            session: Session::new(),
            timers,
            last_request: Instant::now(),
            in_noise: false,
        }
    }

    /// Takes `bytes` from the host, answers every frame (or error) they complete, and
    /// appends the response frames to `out`.
    pub fn receive(&mut self, mut bytes: &[u8], device: &Mutex<Device>, out: &mut Vec<u8>) {
        loop {
            let taken = self.reader.push(bytes);
            bytes = &bytes[taken..];
            self.drain(device, out);
            if bytes.is_empty() {
                return;
            }
        }
    }

    /// Call when `frame_timeout` passed without a byte: drops a partial frame and answers
    /// it [`ErrorCode::BadFrame`].
    pub fn silence(&mut self, device: &Mutex<Device>, out: &mut Vec<u8>) {
        if self.reader.pending() > 0 {
            self.reader.clear();
            append(&lock(device).refuse(ErrorCode::BadFrame), out);
        }
    }

    fn drain(&mut self, device: &Mutex<Device>, out: &mut Vec<u8>) {
        loop {
            let (step, response) = match self.reader.decode() {
                Decoded::Incomplete => return,
                Decoded::Frame { frame, used } => {
                    self.in_noise = false;
                    let mut device = lock(device);
                    let response = match Request::from_frame(&frame) {
                        Ok(request) => {
                            if self.last_request.elapsed() > self.timers.idle_lock {
                                self.session = Session::new();
                            }
                            self.last_request = Instant::now();
                            device.handle(&mut self.session, request)
                        }
                        Err(MessageError::UnknownType) => device.refuse(ErrorCode::UnknownType),
                        Err(MessageError::Malformed) => device.refuse(ErrorCode::BadFrame),
                    };
                    (used, response)
                }
                Decoded::Error {
                    error: FrameError::BadMagic,
                    skip,
                } if self.in_noise => {
                    self.reader.consume(skip);
                    continue;
                }
                Decoded::Error { error, skip } => {
                    self.in_noise = error == FrameError::BadMagic;
                    let code = match error {
                        FrameError::BadMagic => ErrorCode::BadFrame,
                        FrameError::BadCrc => ErrorCode::BadCrc,
                        FrameError::TooLong => ErrorCode::TooLong,
                        FrameError::UnsupportedVersion => ErrorCode::UnsupportedVersion,
                    };
                    (skip, lock(device).refuse(code))
                }
            };
            self.reader.consume(step);
            append(&response, out);
        }
    }
}

/// Serves the wallet over a blocking byte stream whose reads time out after the frame
/// timeout (a serial port opened with that timeout), until the stream ends.
///
/// # Errors
/// The stream's I/O errors.
pub fn serve_blocking<S: Read + Write>(
    mut stream: S,
    device: &Mutex<Device>,
    timers: Timers,
) -> io::Result<()> {
    let mut connection = Connection::new(timers);
    let mut buf = [0u8; 256];
    let mut out = Vec::new();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => connection.receive(&buf[..n], device, &mut out),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                connection.silence(device, &mut out);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            stream.flush()?;
            out.clear();
        }
    }
}

/// Serves the wallet on the serial port (or pty) at `path`, 115200 8N1.
///
/// # Errors
/// The port cannot be opened, or fails.
pub fn serve_serial(path: &Path, device: &Mutex<Device>, timers: Timers) -> io::Result<()> {
    let port = serialport::new(path.to_string_lossy(), 115_200)
        .timeout(timers.frame_timeout)
        .open()
        .map_err(io::Error::other)?;
    // Bytes queued before the wallet was there were written to a wallet that did not answer
    // them (a host still asking a pulled wallet); answering them now would put every answer
    // after them out of step with its request.
    port.clear(serialport::ClearBuffer::Input)
        .map_err(io::Error::other)?;
    // Only now is the wallet listening: a host that writes after this line is answered (a
    // request written before the clear above would be dropped with the stale ones).
    eprintln!("portcullis-wallet: serving on {}", path.display());
    serve_blocking(port, device, timers)
}

/// Serves the wallet on TCP at `listener`, each connection its own [`Session`]; runs until
/// the task is dropped.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    device: Arc<Mutex<Device>>,
    timers: Timers,
) -> ! {
    loop {
        // A failed accept (out of file descriptors, a reset in the backlog) ends only that
        // connection, not the wallet.
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("portcullis-wallet: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let device = Arc::clone(&device);
        tokio::spawn(async move {
            if let Err(e) = serve_tcp_connection(stream, device, timers).await {
                eprintln!("portcullis-wallet: connection {peer}: {e}");
            }
        });
    }
}

async fn serve_tcp_connection(
    mut stream: tokio::net::TcpStream,
    device: Arc<Mutex<Device>>,
    timers: Timers,
) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut connection = Connection::new(timers);
    let mut buf = [0u8; 256];
    loop {
        let read = tokio::time::timeout(timers.frame_timeout, stream.read(&mut buf)).await;
        let bytes = match read {
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => Some(buf[..n].to_vec()),
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => None,
        };
        // Unlock runs Argon2: keep it off the async workers.
        let device = Arc::clone(&device);
        let (back, out) = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            match bytes {
                Some(bytes) => connection.receive(&bytes, &device, &mut out),
                None => connection.silence(&device, &mut out),
            }
            (connection, out)
        })
        .await
        .map_err(io::Error::other)?;
        connection = back;
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

/// The address a `--listen` argument names, bound; what the CLI prints for port 0.
///
/// # Errors
/// Binding fails.
pub async fn bind(addr: SocketAddr) -> io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::codec::{DeviceError, Response};
    use crate::device::KdfParams;

    const PIN: &[u8] = b"482913";

    fn wallet(dir: &Path) -> Mutex<Device> {
        let path = dir.join("wallet.json");
        let kdf = KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        Device::create(&path, PIN, kdf, None).unwrap();
        Mutex::new(Device::open(&path).unwrap())
    }

    fn frame(request: Request<'_>) -> Vec<u8> {
        let mut out = [0u8; MAX_FRAME];
        let n = request.encode(&mut out).unwrap();
        out[..n].to_vec()
    }

    /// The responses in `out`, in order.
    fn responses(out: &[u8]) -> Vec<Response<'static>> {
        let mut reader = Reader::new();
        reader.push(out);
        let mut all = Vec::new();
        while let Decoded::Frame { frame, used } = reader.decode() {
            match Response::from_frame(&frame).unwrap() {
                Response::Info(_) => panic!("no Info expected here"),
                Response::Address(a) => all.push(Response::Address(a)),
                Response::Signature(s) => all.push(Response::Signature(s)),
                Response::Ok => all.push(Response::Ok),
                Response::Error(e) => all.push(Response::Error(e)),
            }
            reader.consume(used);
        }
        assert_eq!(reader.pending(), 0);
        all
    }

    fn code(code: ErrorCode) -> Response<'static> {
        Response::Error(DeviceError {
            code,
            tries_left: 10,
        })
    }

    #[test]
    fn one_answer_per_frame_even_when_bytes_arrive_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let device = wallet(dir.path());
        let mut connection = Connection::new(Timers::default());
        let mut stream = frame(Request::Unlock { pin: PIN });
        stream.extend(b"noise");
        stream.extend(frame(Request::GetAddress));
        let mut out = Vec::new();
        for byte in &stream {
            connection.receive(std::slice::from_ref(byte), &device, &mut out);
        }
        let answers = responses(&out);
        assert_eq!(answers.len(), 3, "{answers:?}");
        assert_eq!(answers[0], Response::Ok);
        assert_eq!(answers[1], code(ErrorCode::BadFrame));
        assert!(matches!(answers[2], Response::Address(_)));
    }

    #[test]
    fn silence_drops_a_partial_frame_once() {
        let dir = tempfile::tempdir().unwrap();
        let device = wallet(dir.path());
        let mut connection = Connection::new(Timers::default());
        let mut out = Vec::new();
        connection.silence(&device, &mut out);
        assert!(out.is_empty(), "no partial frame, nothing to say");
        let half = frame(Request::Unlock { pin: PIN });
        connection.receive(&half[..7], &device, &mut out);
        assert!(out.is_empty());
        connection.silence(&device, &mut out);
        connection.silence(&device, &mut out);
        assert_eq!(responses(&out), [code(ErrorCode::BadFrame)]);
    }

    #[test]
    fn an_idle_session_locks_again() {
        let dir = tempfile::tempdir().unwrap();
        let device = wallet(dir.path());
        let timers = Timers {
            idle_lock: Duration::from_millis(50),
            ..Timers::default()
        };
        let mut connection = Connection::new(timers);
        let mut out = Vec::new();
        connection.receive(&frame(Request::Unlock { pin: PIN }), &device, &mut out);
        connection.receive(&frame(Request::GetAddress), &device, &mut out);
        std::thread::sleep(Duration::from_millis(120));
        connection.receive(&frame(Request::GetAddress), &device, &mut out);
        let answers = responses(&out);
        assert_eq!(answers[0], Response::Ok);
        assert!(matches!(answers[1], Response::Address(_)));
        assert_eq!(answers[2], code(ErrorCode::Locked));
    }
}
