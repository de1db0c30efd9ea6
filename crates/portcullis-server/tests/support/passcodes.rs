//! Passcodes from a test's side: generated PNG images (noise, so that every image is its
//! own and large enough), the same picture re-encoded into other bytes, a multipart upload,
//! and a scan of what the database keeps.

use base64::Engine as _;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{Backend, Reply, TestApp};

/// `side`×`side` RGB noise from `seed`.
pub fn pixels(side: u32, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A PNG of `pixels` (RGB, `side` wide) with the given compression and filter.
pub fn encode_png(side: u32, pixels: &[u8], best: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side, side);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    if best {
        enc.set_compression(png::Compression::Best);
        enc.set_filter(png::FilterType::Paeth);
    } else {
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::FilterType::NoFilter);
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A 96×96 noise PNG and the same picture encoded otherwise (other bytes).
pub fn image_and_reencoded(seed: u32) -> (Vec<u8>, Vec<u8>) {
    let p = pixels(96, seed);
    let a = encode_png(96, &p, false);
    let b = encode_png(96, &p, true);
    assert_ne!(a, b, "the re-encoded copy must differ in its bytes");
    (a, b)
}

/// A `multipart/form-data` body of `(name, filename, bytes)` fields.
pub fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "portcullis-test-boundary-7d1a";
    let mut body = Vec::new();
    for (name, filename, bytes) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST /v1/me/factors/image` with `image` as the file.
pub async fn enrol_image(app: &TestApp, token: &str, image: &[u8]) -> Reply {
    let (ty, body) = multipart(&[
        ("image", Some("me.png"), image),
        ("label", None, b"Holiday"),
    ]);
    app.send(
        app.request(Method::POST, "/v1/me/factors/image", Some(token))
            .header("content-type", ty)
            .body(body),
    )
    .await
}

/// The JSON answer of an image passcode.
pub fn image_answer(image: &[u8]) -> Value {
    serde_json::json!({
        "factor": "image",
        "image": base64::engine::general_purpose::STANDARD.encode(image),
    })
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// What the database keeps, as bytes to search: every file of the data directory (SQLite,
/// its WAL and journal) or, on PostgreSQL, every factor row as text and its sealed secret.
pub async fn database_bytes(app: &TestApp) -> Vec<Vec<u8>> {
    match app.backend {
        Backend::Sqlite => {
            let mut out = Vec::new();
            let mut dirs = vec![app.data_dir().to_path_buf()];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else {
                        out.push(std::fs::read(&path).unwrap());
                    }
                }
            }
            out
        }
        Backend::Postgres => {
            use sqlx::{Connection as _, Row as _};
            let url = app
                .server()
                .state
                .config()
                .database_url
                .as_ref()
                .map(|u| secrecy::ExposeSecret::expose_secret(u).to_owned())
                .unwrap();
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows = sqlx::query("SELECT f::text AS row_text, secret_ct FROM factors f")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert!(!rows.is_empty(), "no factor rows to scan");
            rows.iter()
                .flat_map(|r| {
                    let text: String = r.get("row_text");
                    let secret: Option<Vec<u8>> = r.get("secret_ct");
                    [text.into_bytes(), secret.unwrap_or_default()]
                })
                .collect()
        }
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
