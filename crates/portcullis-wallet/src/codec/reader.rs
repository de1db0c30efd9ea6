//! A fixed receive buffer that turns a byte stream into frames, for hosts and firmware
//! alike (no allocation: [`MAX_FRAME`] bytes inline).

use super::{Decoded, MAX_FRAME, decode};

/// Bytes received and not yet decoded.
///
/// Use: copy received bytes into [`Reader::space`], [`Reader::filled`] them, then
/// [`Reader::decode`] and [`Reader::consume`] what it used or skipped until it answers
/// [`Decoded::Incomplete`]. The buffer holds a whole frame of the largest size, and
/// [`decode`] answers a frame or an error for any [`MAX_FRAME`] bytes, so
/// [`Reader::space`] is never empty while the answer is `Incomplete`.
pub struct Reader {
    buf: [u8; MAX_FRAME],
    len: usize,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            buf: [0; MAX_FRAME],
            len: 0,
        }
    }

    /// Where the next received bytes go.
    pub fn space(&mut self) -> &mut [u8] {
        &mut self.buf[self.len..]
    }

    /// Records that the first `n` bytes of [`Reader::space`] were written (clamped to it).
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(MAX_FRAME);
    }

    /// Copies as much of `bytes` as fits; returns how many were taken.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(MAX_FRAME - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    /// The frame (or error) at the front of the buffered bytes.
    pub fn decode(&self) -> Decoded<'_> {
        decode(&self.buf[..self.len])
    }

    /// Drops the first `n` bytes (a frame's `used` or an error's `skip`).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        let old = self.len;
        self.buf.copy_within(n..old, 0);
        self.len -= n;
        // A consumed Unlock leaves no copy of its PIN behind.
        self.buf[self.len..old].fill(0);
    }

    /// Bytes buffered: a partial frame when [`Reader::decode`] is `Incomplete`.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Drops everything buffered (after a read timeout left a partial frame: truncated).
    pub fn clear(&mut self) {
        self.buf.fill(0);
        self.len = 0;
    }
}
