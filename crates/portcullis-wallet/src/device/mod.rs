//! The software wallet: what a firmware does, on a computer.
//!
//! A [`Device`] owns the state file (the sealed key and the PIN failure counter) and answers
//! [`Request`]s; a [`Session`] is one host connection's unlock, held in memory only and
//! dropped (the key zeroized: k256's `SigningKey` zeroizes on drop) when the connection
//! ends. The transports ([`crate::transport`]) decode frames and call [`Device::handle`];
//! nothing here knows about bytes on a wire.
//!
//! PIN tries follow the order that makes the counter trustworthy: the failure is counted
//! and written to disk *before* the PIN is checked, and reset after a right one; the tenth
//! wrong PIN in a row destroys the key (the file keeps only the counter), and from then on
//! every request but GetInfo answers [`ErrorCode::Wiped`].

mod policy;
pub mod sealed;
pub mod store;

use std::path::{Path, PathBuf};

use k256::ecdsa::SigningKey;
use portcullis_core::eth::{self, Address};

use crate::codec::{DeviceError, ErrorCode, Info, Request, Response, State, VERSION};
pub use sealed::{KdfParams, SealError};
pub use store::StoreError;
use store::{MAX_FAILURES, StateFile};

/// The firmware name GetInfo reports.
pub const FIRMWARE: &str = concat!("portcullis-wallet ", env!("CARGO_PKG_VERSION"));

/// One connection's unlock. Its `Debug` says only whether it is unlocked.
#[derive(Default)]
pub struct Session {
    key: Option<SigningKey>,
}

impl Session {
    /// A locked session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a right PIN was given on this connection.
    pub fn is_unlocked(&self) -> bool {
        self.key.is_some()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("unlocked", &self.is_unlocked())
            .finish()
    }
}

/// Why a wallet could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A state file is already there; `init` never overwrites a key.
    #[error("{0} exists; remove it first to make a new wallet")]
    Exists(PathBuf),
    /// The PIN is not 4 to 64 bytes.
    #[error("the PIN must be 4 to 64 bytes")]
    PinLength,
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Writing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The software wallet.
#[derive(Debug)]
pub struct Device {
    path: PathBuf,
    /// `None`: no state file yet (uninitialised).
    state: Option<StateFile>,
}

impl Device {
    /// Makes a new wallet at `path` holding `key` (a fresh random one if `None`) sealed
    /// under `pin`; returns its address.
    ///
    /// # Errors
    /// [`InitError`].
    pub fn create(
        path: &Path,
        pin: &[u8],
        kdf: KdfParams,
        key: Option<SigningKey>,
    ) -> Result<Address, InitError> {
        if !crate::codec::PIN_LEN.contains(&pin.len()) {
            return Err(InitError::PinLength);
        }
        if path.exists() {
            return Err(InitError::Exists(path.to_owned()));
        }
        let key = match key {
            Some(key) => key,
            None => sealed::generate()?,
        };
        let sealed = sealed::seal(&key, pin, kdf)?;
        store::save(path, &StateFile::new(sealed))?;
        Ok(eth::address_of(key.verifying_key()))
    }

    /// Opens the wallet whose state is at `path` (a missing file is an uninitialised
    /// wallet). A file that counts ten failures but still holds a key (the wallet stopped
    /// between counting the tenth and wiping) is wiped now.
    ///
    /// # Errors
    /// [`StoreError`] for a file that cannot be read or is not a state file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let state = match store::load(path) {
            Ok(state) => Some(state),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                None
            }
            Err(e) => return Err(e),
        };
        let mut device = Self {
            path: path.to_owned(),
            state,
        };
        if device
            .state
            .as_ref()
            .is_some_and(|s| s.failures >= MAX_FAILURES && s.key.is_some())
        {
            device.wipe()?;
        }
        Ok(device)
    }

    fn tries_left(&self) -> u8 {
        self.state
            .as_ref()
            .map_or(MAX_FAILURES, |s| MAX_FAILURES.saturating_sub(s.failures))
    }

    fn life(&self, session: &Session) -> State {
        match &self.state {
            None => State::Uninitialised,
            Some(StateFile { key: None, .. }) => State::Wiped,
            Some(_) if session.is_unlocked() => State::Unlocked,
            Some(_) => State::Locked,
        }
    }

    /// The answer to GetInfo.
    pub fn info(&self, session: &Session) -> Info<'static> {
        Info {
            protocol: VERSION,
            state: self.life(session),
            tries_left: self.tries_left(),
            firmware: FIRMWARE,
        }
    }

    /// An error answer with the current tries left (transports use it for bad frames).
    pub fn refuse(&self, code: ErrorCode) -> Response<'static> {
        Response::Error(DeviceError {
            code,
            tries_left: self.tries_left(),
        })
    }

    /// Answers one request of `session`'s host.
    pub fn handle(&mut self, session: &mut Session, request: Request<'_>) -> Response<'static> {
        match self.life(session) {
            _ if request == Request::GetInfo => Response::Info(self.info(session)),
            State::Uninitialised => self.refuse(ErrorCode::Uninitialised),
            State::Wiped => {
                session.key = None;
                self.refuse(ErrorCode::Wiped)
            }
            State::Locked | State::Unlocked => match request {
                Request::Unlock { pin } => self.unlock(session, pin),
                Request::Lock => {
                    session.key = None;
                    Response::Ok
                }
                _ => match &session.key {
                    Some(key) => self.with_key(key.clone(), request),
                    None => self.refuse(ErrorCode::Locked),
                },
            },
        }
    }

    fn with_key(&mut self, key: SigningKey, request: Request<'_>) -> Response<'static> {
        let address = eth::address_of(key.verifying_key());
        let text = match request {
            Request::GetAddress => return Response::Address(address.into_array()),
            Request::Wipe => {
                return match self.wipe() {
                    Ok(()) => Response::Ok,
                    Err(_) => self.refuse(ErrorCode::Storage),
                };
            }
            Request::SignMessage { text } if policy::is_plain_message(text) => text,
            Request::SignDelegation { text } if policy::is_delegation(text, address) => text,
            Request::SignPresence { text } if policy::is_presence(text) => text,
            Request::SignMessage { .. }
            | Request::SignDelegation { .. }
            | Request::SignPresence { .. } => return self.refuse(ErrorCode::RefusedText),
            Request::GetInfo | Request::Unlock { .. } | Request::Lock => {
                return self.refuse(ErrorCode::BadFrame);
            }
        };
        match eth::sign(&key, text.as_bytes()) {
            Ok(signature) => Response::Signature(signature.to_bytes()),
            Err(_) => self.refuse(ErrorCode::RefusedText),
        }
    }

    fn unlock(&mut self, session: &mut Session, pin: &[u8]) -> Response<'static> {
        session.key = None;
        let Some(state) = self.state.as_mut() else {
            return self.refuse(ErrorCode::Uninitialised);
        };
        let Some(sealed) = state.key.clone() else {
            return self.refuse(ErrorCode::Wiped);
        };
        // Count first, on disk; only then try the PIN.
        state.failures = state.failures.saturating_add(1);
        if store::save(&self.path, state).is_err() {
            return self.refuse(ErrorCode::Storage);
        }
        match sealed::open(&sealed, pin) {
            Ok(key) => {
                state.failures = 0;
                // A reset that did not reach the disk costs the user one try, no more.
                let _ = store::save(&self.path, state);
                session.key = Some(key);
                Response::Ok
            }
            Err(SealError::WrongPin) if state.failures >= MAX_FAILURES => {
                let _ = self.wipe();
                self.refuse(ErrorCode::Wiped)
            }
            Err(SealError::WrongPin) => self.refuse(ErrorCode::WrongPin),
            // An edited or damaged file: no PIN opens it; the try stays counted.
            Err(_) => self.refuse(ErrorCode::Storage),
        }
    }

    /// Forgets the key in memory first, so this process refuses from now on even if the
    /// file cannot be written (a restart then finds ten failures and wipes in [`Device::open`]).
    fn wipe(&mut self) -> Result<(), StoreError> {
        let wiped = StateFile::wiped();
        self.state = Some(wiped.clone());
        store::save(&self.path, &wiped)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
mod tests;
