//! Image passcodes: a picture file the user keeps is the secret, like a key file.
//!
//! The exact bytes count, not the picture: they are digested with SHA-256 and only an
//! argon2id hash of that digest is kept (by the caller, with the account's password hasher),
//! so a re-encoded, cropped or resized copy — or one flipped bit — is another secret.
//!
//! Enrolment checks that the upload is really an image a person chose, not any file: PNG,
//! JPEG or WebP recognised by its magic bytes (never by a name or a declared type), decodable
//! to the end within bounded memory, at least [`MIN_BYTES`] long and [`MIN_SIDE`] pixels on
//! each side. A login only digests: a non-image cannot match a stored image anyway, and
//! decoding again would cost more than the hash it protects.

use std::io::Cursor;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// The largest image accepted, in bytes (5 MiB).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The smallest image accepted, in bytes: a tiny file is more likely guessable.
pub const MIN_BYTES: usize = 4 * 1024;
/// The smallest width and height accepted, in pixels.
pub const MIN_SIDE: u32 = 64;
/// The largest width or height a decoder may allocate for: a 5 MiB file can claim a
/// gigapixel canvas (a decompression bomb).
const MAX_SIDE: u32 = 16_384;
/// The most memory a decoder may allocate.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// The formats an image passcode may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PNG (`\x89PNG\r\n\x1a\n`).
    Png,
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// WebP (`RIFF....WEBP`).
    Webp,
}

impl Format {
    /// The format's name as people know it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Webp => "WebP",
        }
    }

    fn decoder_format(self) -> image::ImageFormat {
        match self {
            Format::Png => image::ImageFormat::Png,
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Webp => image::ImageFormat::WebP,
        }
    }
}

/// Why an upload is no image passcode. The messages are shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Larger than [`MAX_BYTES`].
    #[error("the image is larger than 5 MiB")]
    TooLarge,
    /// Neither PNG, JPEG nor WebP by its content.
    #[error("the file is not a PNG, JPEG or WebP image")]
    UnsupportedFormat,
    /// Shorter than [`MIN_BYTES`].
    #[error("the image is too small: it must be at least 4 KiB")]
    TooFewBytes,
    /// Recognised, but it does not decode.
    #[error("the {0} image cannot be decoded: it is damaged or incomplete")]
    Undecodable(&'static str),
    /// Narrower or lower than [`MIN_SIDE`].
    #[error("the image is too small: it must be at least 64×64 pixels, it is {0}×{1}")]
    TooFewPixels(u32, u32),
}

/// An image checked for enrolment: its format and size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Its format, by content.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The format of `bytes` by its magic bytes, if it is one of ours.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else {
        None
    }
}

/// Checks that `bytes` may become an image passcode: size, format by content, a full decode
/// within bounded memory, and the least dimensions.
///
/// # Errors
/// The [`ImageError`] of the first rule broken, in the order of that list.
pub fn check(bytes: &[u8]) -> Result<Checked, ImageError> {
    if bytes.len() > MAX_BYTES {
        return Err(ImageError::TooLarge);
    }
    let format = sniff(bytes).ok_or(ImageError::UnsupportedFormat)?;
    if bytes.len() < MIN_BYTES {
        return Err(ImageError::TooFewBytes);
    }
    let undecodable = || ImageError::Undecodable(format.name());
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.decoder_format());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|_| undecodable())?;
    let (width, height) = (decoded.width(), decoded.height());
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(ImageError::TooFewPixels(width, height));
    }
    Ok(Checked {
        format,
        width,
        height,
    })
}

/// The secret an image stands for: the SHA-256 of its exact bytes, which the caller hashes
/// with argon2id. Wiped when dropped.
pub fn digest(bytes: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Sha256::digest(bytes).into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A PNG of `side`×`side` noise, stored without compression so it is large enough.
    fn png(side: u32, seed: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut state = u32::from(seed) | 1;
        let pixels: Vec<u8> = (0..side * side * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        image::RgbImage::from_raw(side, side, pixels)
            .unwrap()
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(sniff(&png(64, 1)), Some(Format::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_real_image_passes_with_its_size() {
        let checked = check(&png(80, 2)).unwrap();
        assert_eq!(
            checked,
            Checked {
                format: Format::Png,
                width: 80,
                height: 80
            }
        );
    }

    #[test]
    fn each_rule_has_its_reason() {
        assert_eq!(check(&vec![0u8; MAX_BYTES + 1]), Err(ImageError::TooLarge));
        assert_eq!(check(&[7u8; 5000]), Err(ImageError::UnsupportedFormat));
        let small = png(16, 3);
        assert!(small.len() < MIN_BYTES);
        assert_eq!(check(&small), Err(ImageError::TooFewBytes));
        // Many bytes but too few pixels: 40×200 of noise.
        let mut narrow = Vec::new();
        let pixels: Vec<u8> = (0..40 * 200 * 3).map(|i| (i * 7919 % 251) as u8).collect();
        image::RgbImage::from_raw(40, 200, pixels)
            .unwrap()
            .write_to(&mut Cursor::new(&mut narrow), image::ImageFormat::Png)
            .unwrap();
        assert!(narrow.len() >= MIN_BYTES);
        assert_eq!(check(&narrow), Err(ImageError::TooFewPixels(40, 200)));
        // A PNG cut in half does not decode.
        let whole = png(80, 4);
        assert_eq!(
            check(&whole[..whole.len() / 2]),
            Err(ImageError::Undecodable("PNG"))
        );
        let mut fake = b"RIFF\0\0\0\0WEBP".to_vec();
        fake.resize(5000, 0);
        assert_eq!(check(&fake), Err(ImageError::Undecodable("WebP")));
    }

    #[test]
    fn the_digest_changes_with_any_bit() {
        let bytes = png(80, 5);
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(*digest(&bytes), *digest(&bytes.clone()));
        assert_ne!(*digest(&bytes), *digest(&flipped));
        // SHA-256 of the empty string.
        assert_eq!(
            hex::encode(*digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
