//! Uploads: the one reader of `multipart/form-data` bodies (an image passcode's file and the
//! text fields beside it), shared by the API and the pages, and the body limits of the few
//! routes that take an image. Every other route keeps `max_body_bytes`.
//!
//! The file is read into memory (at most its limit) and handed to the service; it is never
//! written anywhere.

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use base64::Engine as _;
use portcullis_core::factor::image::MAX_BYTES;
use serde::{Deserialize, Deserializer};

/// Room for the text fields, boundaries and headers of a form around the image.
const OVERHEAD: usize = 64 * 1024;

/// Body limit of a multipart form carrying an image (the file plus [`OVERHEAD`]).
pub const MULTIPART_LIMIT: usize = MAX_BYTES + OVERHEAD;

/// Body limit of a JSON answer carrying an image in base64 (4 characters per 3 bytes).
pub const JSON_LIMIT: usize = MAX_BYTES.div_ceil(3) * 4 + OVERHEAD;

// The larger limit stays well below what a client could use to exhaust memory.
const _: () = assert!(JSON_LIMIT < 8 * 1024 * 1024);

/// Longest text field read from a form.
const MAX_TEXT: usize = 4096;

/// A multipart form: its one file field (if any) and its text fields.
#[derive(Default)]
pub struct Upload {
    /// The bytes of the file field named as asked.
    pub file: Option<Vec<u8>>,
    /// The other fields, by name (the first of each name).
    pub text: BTreeMap<String, String>,
}

/// Why a form could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadError {
    /// Longer than the route's limit.
    TooLarge,
    /// Not a multipart form, or a broken one; what went wrong.
    Malformed(String),
}

impl From<MultipartError> for UploadError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            UploadError::TooLarge
        } else {
            UploadError::Malformed(e.body_text())
        }
    }
}

/// Reads every field of `form`: the field `file_field` as bytes, the others as text.
///
/// # Errors
/// [`UploadError::TooLarge`] past the route's body limit, [`UploadError::Malformed`] for a
/// broken form or a text field that is not short UTF-8.
pub async fn read(mut form: Multipart, file_field: &str) -> Result<Upload, UploadError> {
    let mut upload = Upload::default();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let bytes = field.bytes().await?;
            if upload.file.is_none() {
                upload.file = Some(bytes.to_vec());
            }
            continue;
        }
        let bytes = field.bytes().await?;
        if bytes.len() > MAX_TEXT {
            return Err(UploadError::Malformed(format!(
                "the field `{name}` is too long"
            )));
        }
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| UploadError::Malformed(format!("the field `{name}` is not UTF-8")))?;
        upload.text.entry(name).or_insert(text);
    }
    Ok(upload)
}

/// Image bytes sent in JSON as standard base64 (RFC 4648 §4, padded); a string that is no
/// base64 is a body that does not match its schema.
pub struct Base64Image(pub Vec<u8>);

impl<'de> Deserialize<'de> for Base64Image {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map(Base64Image)
            .map_err(|_| serde::de::Error::custom("`image` must be standard base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_limit_holds_a_5_mib_image_in_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_BYTES]);
        assert!(encoded.len() + 100 < JSON_LIMIT);
    }

    #[test]
    fn base64_images_decode_or_are_refused() {
        let ok: Base64Image = serde_json::from_str("\"AAEC\"").unwrap_or(Base64Image(vec![]));
        assert_eq!(ok.0, vec![0, 1, 2]);
        assert!(serde_json::from_str::<Base64Image>("\"not base64!\"").is_err());
        assert!(serde_json::from_str::<Base64Image>("3").is_err());
    }
}
