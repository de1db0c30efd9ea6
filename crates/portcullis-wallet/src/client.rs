//! The host's side of the protocol: what the driver CLI (`login`, `call`, `logout`) uses to
//! talk to a wallet over a serial port or TCP.
//!
//! It is blocking (a request is a few bytes each way, and Unlock waits for the wallet's
//! Argon2); an async caller runs it in `spawn_blocking`. One request is in flight at a
//! time and each waits at most the timeout given when connecting.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use portcullis_core::eth::{Address, WalletSignature};

use crate::codec::{Decoded, EncodeError, ErrorCode, MAX_FRAME, Reader, Request, Response, State};

/// A byte stream to a wallet.
trait Wire: Read + Write + Send {}
impl<T: Read + Write + Send> Wire for T {}

/// A connection to a wallet.
pub struct Client {
    wire: Box<dyn Wire>,
    reader: Reader,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

/// What GetInfo told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletInfo {
    /// Protocol version.
    pub protocol: u8,
    /// Life-cycle state (for this connection).
    pub state: State,
    /// Wrong PINs left before the wallet wipes itself.
    pub tries_left: u8,
    /// Firmware name and version.
    pub firmware: String,
}

/// Why a request to the wallet failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The wallet refused.
    #[error("the wallet refused: {code:?} ({tries_left} PIN tries left)")]
    Refused {
        /// Its reason.
        code: ErrorCode,
        /// PIN tries left.
        tries_left: u8,
    },
    /// No answer in time.
    #[error("the wallet did not answer in time")]
    Timeout,
    /// The line failed or closed.
    #[error("wallet connection: {0}")]
    Io(#[from] io::Error),
    /// The request cannot be sent (a text over 1 KiB, a PIN not 4 to 64 bytes).
    #[error("the request does not fit a frame: {0:?}")]
    Encode(EncodeError),
    /// The answer was no frame, or not the kind this request expects.
    #[error("the wallet answered something unexpected: {0}")]
    Protocol(&'static str),
}

impl Client {
    /// Opens the serial port (or pty) at `path`, 115200 8N1.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub fn serial(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let port = serialport::new(path.to_string_lossy(), 115_200)
            .timeout(timeout)
            .open()
            .map_err(io::Error::other)?;
        // Late answers to an earlier host's requests are not answers to ours.
        port.clear(serialport::ClearBuffer::Input)
            .map_err(io::Error::other)?;
        Ok(Self::over(port))
    }

    /// Connects to a wallet listening on TCP.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub fn tcp(addr: impl ToSocketAddrs, timeout: Duration) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self::over(stream))
    }

    /// Speaks the protocol over any byte stream (whose reads time out).
    pub fn over(wire: impl Read + Write + Send + 'static) -> Self {
        Self {
            wire: Box::new(wire),
            reader: Reader::new(),
        }
    }

    /// Sends `request` and hands its response to `read`.
    fn call<T>(
        &mut self,
        request: Request<'_>,
        read: impl FnOnce(Response<'_>) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut frame = zeroize::Zeroizing::new([0u8; MAX_FRAME]);
        let n = request
            .encode(frame.as_mut())
            .map_err(ClientError::Encode)?;
        self.wire.write_all(&frame[..n])?;
        self.wire.flush()?;
        loop {
            match self.reader.decode() {
                Decoded::Frame { frame, used } => {
                    let response = Response::from_frame(&frame)
                        .map_err(|_| ClientError::Protocol("not a response"));
                    let result = match response {
                        Ok(Response::Error(e)) => Err(ClientError::Refused {
                            code: e.code,
                            tries_left: e.tries_left,
                        }),
                        Ok(response) => read(response),
                        Err(e) => Err(e),
                    };
                    self.reader.consume(used);
                    return result;
                }
                Decoded::Error { skip, .. } => {
                    self.reader.consume(skip);
                    return Err(ClientError::Protocol("a broken frame"));
                }
                Decoded::Incomplete => {}
            }
            match self.wire.read(self.reader.space()) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => self.reader.filled(n),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    self.reader.clear();
                    return Err(ClientError::Timeout);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The wallet's state.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn get_info(&mut self) -> Result<WalletInfo, ClientError> {
        self.call(Request::GetInfo, |response| match response {
            Response::Info(info) => Ok(WalletInfo {
                protocol: info.protocol,
                state: info.state,
                tries_left: info.tries_left,
                firmware: info.firmware.to_owned(),
            }),
            _ => Err(ClientError::Protocol("expected Info")),
        })
    }

    /// Unlocks this connection. A wrong PIN is [`ClientError::Refused`] with
    /// [`ErrorCode::WrongPin`] and the tries left; at the tenth the wallet wipes itself.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn unlock(&mut self, pin: &[u8]) -> Result<(), ClientError> {
        self.call(Request::Unlock { pin }, ok)
    }

    /// The wallet's address (unlocked).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn get_address(&mut self) -> Result<Address, ClientError> {
        self.call(Request::GetAddress, |response| match response {
            Response::Address(bytes) => Ok(Address::from(bytes)),
            _ => Err(ClientError::Protocol("expected Address")),
        })
    }

    /// An EIP-191 signature of `text` (a SIWE message).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn sign_message(&mut self, text: &str) -> Result<WalletSignature, ClientError> {
        self.call(Request::SignMessage { text }, signature)
    }

    /// An EIP-191 signature of a delegation text (the wallet refuses any other).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn sign_delegation(&mut self, text: &str) -> Result<WalletSignature, ClientError> {
        self.call(Request::SignDelegation { text }, signature)
    }

    /// An EIP-191 signature of a presence text (the wallet refuses any other).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn sign_presence(&mut self, text: &str) -> Result<WalletSignature, ClientError> {
        self.call(Request::SignPresence { text }, signature)
    }

    /// Ends this connection's unlock (what `logout` sends; a serial line has no disconnect).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn lock(&mut self) -> Result<(), ClientError> {
        self.call(Request::Lock, ok)
    }

    /// Destroys the wallet's key (unlocked).
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn wipe(&mut self) -> Result<(), ClientError> {
        self.call(Request::Wipe, ok)
    }
}

fn ok(response: Response<'_>) -> Result<(), ClientError> {
    match response {
        Response::Ok => Ok(()),
        _ => Err(ClientError::Protocol("expected Ok")),
    }
}

fn signature(response: Response<'_>) -> Result<WalletSignature, ClientError> {
    match response {
        Response::Signature(bytes) => Ok(WalletSignature::from_bytes(bytes)),
        _ => Err(ClientError::Protocol("expected Signature")),
    }
}
