//! The wire format between a wallet and its host: frames, and the messages inside them.
//!
//! A frame is `magic (A5 5A) ‖ version ‖ type ‖ length (u16 BE) ‖ payload ‖ CRC-32 (BE)`,
//! the CRC (CRC-32/ISO-HDLC, the zlib/Ethernet one) taken over `version ‖ type ‖ length ‖
//! payload`. `PROTOCOL.md` at the crate's root is the normative description, written so
//! that an ESP32-S3 firmware can implement it.
//!
//! This module is written against `core` only: no `std`, no allocation, no panics on any
//! input (decoded frames borrow from the caller's buffer; encoders write into the caller's
//! slice). A `#![no_std]` firmware can copy it as it is; the crate itself builds it without
//! `std` when its `wallet` feature is off (`cargo check -p portcullis-wallet
//! --no-default-features`), which keeps it honest. Do not import `std` here.

mod message;
mod reader;

pub use message::{
    DeviceError, ErrorCode, FIRMWARE_MAX, Info, MessageError, PIN_LEN, Request, Response, State,
    kind,
};
pub use reader::Reader;

/// The two bytes every frame starts with; a decoder that lost its place looks for them.
pub const MAGIC: [u8; 2] = [0xA5, 0x5A];
/// The protocol version this codec speaks; a frame with another is refused.
pub const VERSION: u8 = 1;
/// Magic, version, type and length.
pub const HEADER_LEN: usize = 6;
/// The CRC-32 after the payload.
pub const CRC_LEN: usize = 4;
/// The largest payload a frame may carry: a 1 KiB text to sign fits.
pub const MAX_PAYLOAD: usize = 1024;
/// The largest frame; a receive buffer of this size always holds a whole frame.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_PAYLOAD + CRC_LEN;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// A frame whose CRC checked: its type byte and payload, borrowed from the input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The message type ([`kind`]).
    pub kind: u8,
    /// The payload (at most [`MAX_PAYLOAD`] bytes); it may hold a PIN, so no `Debug` prints it.
    pub payload: &'a [u8],
}

impl core::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frame")
            .field("kind", &self.kind)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Why the bytes at the front of a stream are not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The stream does not start with [`MAGIC`] (noise, or the rest of a broken frame).
    BadMagic,
    /// The version byte is not [`VERSION`].
    UnsupportedVersion,
    /// The length field says more than [`MAX_PAYLOAD`].
    TooLong,
    /// The CRC does not match: a corrupted or truncated-then-overrun frame.
    BadCrc,
}

/// What [`decode`] found at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A prefix of a possible frame: read more bytes and decode again.
    Incomplete,
    /// A whole frame, which took the first `used` bytes.
    Frame {
        /// The frame.
        frame: Frame<'a>,
        /// Bytes to drop from the front of the buffer.
        used: usize,
    },
    /// No frame starts here: drop the first `skip` bytes (always at least one) and decode
    /// again. `skip` reaches the next place a frame could start (the next `A5 5A`, or an
    /// `A5` at the very end), so one burst of noise gives one error, and a frame sent after
    /// a broken one is still found.
    Error {
        /// What was wrong.
        error: FrameError,
        /// Bytes to drop from the front of the buffer.
        skip: usize,
    },
}

/// Decodes the frame at the front of `buf`. Never panics; see [`Decoded`] for what to do
/// with each answer.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    let fail = |error| Decoded::Error {
        error,
        skip: resync(buf),
    };
    let Some(&first) = buf.first() else {
        return Decoded::Incomplete;
    };
    if first != MAGIC[0] || buf.get(1).is_some_and(|&b| b != MAGIC[1]) {
        return fail(FrameError::BadMagic);
    }
    if buf.get(2).is_some_and(|&v| v != VERSION) {
        return fail(FrameError::UnsupportedVersion);
    }
    let (Some(&kind), Some(&hi), Some(&lo)) = (buf.get(3), buf.get(4), buf.get(5)) else {
        return Decoded::Incomplete;
    };
    let length = usize::from(u16::from_be_bytes([hi, lo]));
    if length > MAX_PAYLOAD {
        return fail(FrameError::TooLong);
    }
    let end = HEADER_LEN + length;
    let (Some(covered), Some(crc)) = (buf.get(2..end), buf.get(end..end + CRC_LEN)) else {
        return Decoded::Incomplete;
    };
    let mut sent = [0u8; CRC_LEN];
    sent.copy_from_slice(crc);
    if CRC32.checksum(covered) != u32::from_be_bytes(sent) {
        return fail(FrameError::BadCrc);
    }
    match buf.get(HEADER_LEN..end) {
        Some(payload) => Decoded::Frame {
            frame: Frame { kind, payload },
            used: end + CRC_LEN,
        },
        None => Decoded::Incomplete,
    }
}

/// Bytes to drop after an error at the front of `buf`: up to the next place a frame could
/// start, at least one.
fn resync(buf: &[u8]) -> usize {
    (1..buf.len())
        .find(|&i| buf[i] == MAGIC[0] && buf.get(i + 1).is_none_or(|&b| b == MAGIC[1]))
        .unwrap_or(buf.len().max(1))
}

/// Why a frame could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The payload is longer than [`MAX_PAYLOAD`].
    TooLong,
    /// The output slice is shorter than the frame.
    BufferTooSmall,
}

/// Writes a frame of type `kind` whose payload is the concatenation of `parts` into `out`,
/// and returns its length.
///
/// # Errors
/// [`EncodeError::TooLong`] for a payload over [`MAX_PAYLOAD`],
/// [`EncodeError::BufferTooSmall`] when `out` cannot hold the frame.
pub fn encode(kind: u8, parts: &[&[u8]], out: &mut [u8]) -> Result<usize, EncodeError> {
    let length = parts.iter().map(|p| p.len()).sum::<usize>();
    if length > MAX_PAYLOAD {
        return Err(EncodeError::TooLong);
    }
    let total = HEADER_LEN + length + CRC_LEN;
    let frame = out.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
    let [hi, lo] = u16::try_from(length)
        .map_err(|_| EncodeError::TooLong)?
        .to_be_bytes();
    frame[..HEADER_LEN].copy_from_slice(&[MAGIC[0], MAGIC[1], VERSION, kind, hi, lo]);
    let mut at = HEADER_LEN;
    for part in parts {
        frame[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    let crc = CRC32.checksum(&frame[2..at]);
    frame[at..].copy_from_slice(&crc.to_be_bytes());
    Ok(total)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]
mod tests;
