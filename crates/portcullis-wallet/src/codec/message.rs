//! The messages inside frames: the host's requests and the wallet's responses.
//!
//! Payloads are fixed layouts of bytes and UTF-8 texts whose length is the frame's, so a
//! message needs no length fields of its own. Parsing is strict: a payload of the wrong
//! size, a text that is not UTF-8 or an unknown state or error code is
//! [`MessageError::Malformed`], never a guess.

use super::{EncodeError, Frame, encode};

/// The type byte of each message. Requests have the high bit clear, responses set.
pub mod kind {
    /// Request: the wallet's [`Info`](super::Info).
    pub const GET_INFO: u8 = 0x01;
    /// Request: unlock with the PIN (the payload, 4 to 64 bytes).
    pub const UNLOCK: u8 = 0x02;
    /// Request: the wallet's address (unlocked only).
    pub const GET_ADDRESS: u8 = 0x03;
    /// Request: sign any UTF-8 text (a SIWE message) under EIP-191.
    pub const SIGN_MESSAGE: u8 = 0x04;
    /// Request: sign a session-key delegation text, and nothing else.
    pub const SIGN_DELEGATION: u8 = 0x05;
    /// Request: sign a presence text, and nothing else.
    pub const SIGN_PRESENCE: u8 = 0x06;
    /// Request: destroy the key (unlocked only).
    pub const WIPE: u8 = 0x07;
    /// Request: end this connection's unlock (a serial line has no disconnect).
    pub const LOCK: u8 = 0x08;
    /// Response to [`GET_INFO`].
    pub const INFO: u8 = 0x81;
    /// Response to [`GET_ADDRESS`]: 20 bytes.
    pub const ADDRESS: u8 = 0x82;
    /// Response to a sign request: 65 bytes `r ‖ s ‖ v`, `v` 27 or 28.
    pub const SIGNATURE: u8 = 0x83;
    /// Response to [`UNLOCK`], [`WIPE`] and [`LOCK`]: empty.
    pub const OK: u8 = 0x84;
    /// Response to anything that failed: an [`ErrorCode`](super::ErrorCode) and the PIN
    /// tries left.
    pub const ERROR: u8 = 0x85;
}

/// The shortest and longest PIN an Unlock may carry.
pub const PIN_LEN: core::ops::RangeInclusive<usize> = 4..=64;
/// The longest firmware name in an [`Info`].
pub const FIRMWARE_MAX: usize = 32;

/// Why a frame's content is not a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// A type byte this version does not define (or a response where a request belongs).
    UnknownType,
    /// The payload does not fit the type's layout.
    Malformed,
}

/// What the host asks. Texts are UTF-8 (a firmware shows them on its screen).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// The wallet's state.
    GetInfo,
    /// Unlock with a PIN (4 to 64 bytes).
    Unlock {
        /// The PIN; never printed.
        pin: &'a [u8],
    },
    /// The address (unlocked only).
    GetAddress,
    /// Sign any text: the wallet shows it and signs (a SIWE message).
    SignMessage {
        /// The text.
        text: &'a str,
    },
    /// Sign a delegation text; the wallet refuses any other text.
    SignDelegation {
        /// The text.
        text: &'a str,
    },
    /// Sign a presence text; the wallet refuses any other text.
    SignPresence {
        /// The text.
        text: &'a str,
    },
    /// Destroy the key (unlocked only).
    Wipe,
    /// End the unlock.
    Lock,
}

impl core::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::GetInfo => f.write_str("GetInfo"),
            Self::Unlock { .. } => f.write_str("Unlock { pin: <redacted> }"),
            Self::GetAddress => f.write_str("GetAddress"),
            Self::SignMessage { text } => write!(f, "SignMessage {{ text: {text:?} }}"),
            Self::SignDelegation { text } => write!(f, "SignDelegation {{ text: {text:?} }}"),
            Self::SignPresence { text } => write!(f, "SignPresence {{ text: {text:?} }}"),
            Self::Wipe => f.write_str("Wipe"),
            Self::Lock => f.write_str("Lock"),
        }
    }
}

fn text(payload: &[u8]) -> Result<&str, MessageError> {
    core::str::from_utf8(payload).map_err(|_| MessageError::Malformed)
}

fn empty(payload: &[u8]) -> Result<(), MessageError> {
    payload
        .is_empty()
        .then_some(())
        .ok_or(MessageError::Malformed)
}

impl<'a> Request<'a> {
    /// The request a frame carries.
    ///
    /// # Errors
    /// [`MessageError`].
    pub fn from_frame(frame: &Frame<'a>) -> Result<Self, MessageError> {
        let p = frame.payload;
        Ok(match frame.kind {
            kind::GET_INFO => empty(p).map(|()| Self::GetInfo)?,
            kind::UNLOCK if PIN_LEN.contains(&p.len()) => Self::Unlock { pin: p },
            kind::UNLOCK => return Err(MessageError::Malformed),
            kind::GET_ADDRESS => empty(p).map(|()| Self::GetAddress)?,
            kind::SIGN_MESSAGE => Self::SignMessage { text: text(p)? },
            kind::SIGN_DELEGATION => Self::SignDelegation { text: text(p)? },
            kind::SIGN_PRESENCE => Self::SignPresence { text: text(p)? },
            kind::WIPE => empty(p).map(|()| Self::Wipe)?,
            kind::LOCK => empty(p).map(|()| Self::Lock)?,
            _ => return Err(MessageError::UnknownType),
        })
    }

    /// Writes the request's frame into `out`; returns its length.
    ///
    /// # Errors
    /// [`EncodeError`]; a PIN outside 4 to 64 bytes is [`EncodeError::TooLong`] too, as the
    /// wallet would refuse it.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match *self {
            Self::GetInfo => encode(kind::GET_INFO, &[], out),
            Self::Unlock { pin } if PIN_LEN.contains(&pin.len()) => {
                encode(kind::UNLOCK, &[pin], out)
            }
            Self::Unlock { .. } => Err(EncodeError::TooLong),
            Self::GetAddress => encode(kind::GET_ADDRESS, &[], out),
            Self::SignMessage { text } => encode(kind::SIGN_MESSAGE, &[text.as_bytes()], out),
            Self::SignDelegation { text } => encode(kind::SIGN_DELEGATION, &[text.as_bytes()], out),
            Self::SignPresence { text } => encode(kind::SIGN_PRESENCE, &[text.as_bytes()], out),
            Self::Wipe => encode(kind::WIPE, &[], out),
            Self::Lock => encode(kind::LOCK, &[], out),
        }
    }
}

/// The wallet's life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// No key yet.
    Uninitialised = 0,
    /// A key, sealed under the PIN.
    Locked = 1,
    /// Unlocked for this connection.
    Unlocked = 2,
    /// The key was destroyed (ten wrong PINs, or Wipe).
    Wiped = 3,
}

impl State {
    fn from_byte(b: u8) -> Result<Self, MessageError> {
        Ok(match b {
            0 => Self::Uninitialised,
            1 => Self::Locked,
            2 => Self::Unlocked,
            3 => Self::Wiped,
            _ => return Err(MessageError::Malformed),
        })
    }
}

/// Why the wallet refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// Bytes that are no frame, a truncated frame, or a payload that fits no layout.
    BadFrame = 1,
    /// The CRC did not match.
    BadCrc = 2,
    /// A type byte the wallet does not know.
    UnknownType = 3,
    /// The request needs an unlocked wallet.
    Locked = 4,
    /// The PIN was wrong; `tries_left` says how many remain before the wipe.
    WrongPin = 5,
    /// The key is gone.
    Wiped = 6,
    /// SignDelegation or SignPresence with a text that is not of that kind.
    RefusedText = 7,
    /// The length field was over the maximum.
    TooLong = 8,
    /// A protocol version the wallet does not speak.
    UnsupportedVersion = 9,
    /// The wallet holds no key yet.
    Uninitialised = 10,
    /// The wallet could not record the PIN counter, so it did not try the PIN.
    Storage = 11,
}

impl ErrorCode {
    fn from_byte(b: u8) -> Result<Self, MessageError> {
        Ok(match b {
            1 => Self::BadFrame,
            2 => Self::BadCrc,
            3 => Self::UnknownType,
            4 => Self::Locked,
            5 => Self::WrongPin,
            6 => Self::Wiped,
            7 => Self::RefusedText,
            8 => Self::TooLong,
            9 => Self::UnsupportedVersion,
            10 => Self::Uninitialised,
            11 => Self::Storage,
            _ => return Err(MessageError::Malformed),
        })
    }
}

/// The answer to GetInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info<'a> {
    /// The protocol version the wallet speaks.
    pub protocol: u8,
    /// Where it is in its life cycle.
    pub state: State,
    /// Wrong PINs it still accepts before it wipes itself.
    pub tries_left: u8,
    /// The firmware's name and version, at most 32 bytes of UTF-8.
    pub firmware: &'a str,
}

/// An error answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceError {
    /// What went wrong.
    pub code: ErrorCode,
    /// Wrong PINs the wallet still accepts.
    pub tries_left: u8,
}

/// What the wallet answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// To GetInfo.
    Info(Info<'a>),
    /// To GetAddress.
    Address([u8; 20]),
    /// To a sign request.
    Signature([u8; 65]),
    /// To Unlock, Wipe and Lock.
    Ok,
    /// To anything refused.
    Error(DeviceError),
}

impl<'a> Response<'a> {
    /// The response a frame carries.
    ///
    /// # Errors
    /// [`MessageError`].
    pub fn from_frame(frame: &Frame<'a>) -> Result<Self, MessageError> {
        let p = frame.payload;
        Ok(match (frame.kind, p) {
            (kind::INFO, [protocol, state, tries_left, firmware @ ..])
                if firmware.len() <= FIRMWARE_MAX =>
            {
                Self::Info(Info {
                    protocol: *protocol,
                    state: State::from_byte(*state)?,
                    tries_left: *tries_left,
                    firmware: text(firmware)?,
                })
            }
            (kind::ADDRESS, _) => Self::Address(p.try_into().map_err(|_| MessageError::Malformed)?),
            (kind::SIGNATURE, _) => {
                Self::Signature(p.try_into().map_err(|_| MessageError::Malformed)?)
            }
            (kind::OK, []) => Self::Ok,
            (kind::ERROR, [code, tries_left]) => Self::Error(DeviceError {
                code: ErrorCode::from_byte(*code)?,
                tries_left: *tries_left,
            }),
            (kind::INFO | kind::OK | kind::ERROR, _) => return Err(MessageError::Malformed),
            _ => return Err(MessageError::UnknownType),
        })
    }

    /// Writes the response's frame into `out`; returns its length.
    ///
    /// # Errors
    /// [`EncodeError`]; a firmware name over 32 bytes is [`EncodeError::TooLong`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Self::Info(info) if info.firmware.len() <= FIRMWARE_MAX => {
                let head = [info.protocol, info.state as u8, info.tries_left];
                encode(kind::INFO, &[&head, info.firmware.as_bytes()], out)
            }
            Self::Info(_) => Err(EncodeError::TooLong),
            Self::Address(address) => encode(kind::ADDRESS, &[address], out),
            Self::Signature(signature) => encode(kind::SIGNATURE, &[signature], out),
            Self::Ok => encode(kind::OK, &[], out),
            Self::Error(e) => encode(kind::ERROR, &[&[e.code as u8, e.tries_left]], out),
        }
    }
}
