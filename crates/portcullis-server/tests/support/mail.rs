//! Reading what the real SMTP receiver of `scripts/test` stored: every message is
//! `<stamp>-<n>.eml` with a sidecar `<stamp>-<n>.json` `{"mail_from", "rcpt_tos": [...]}` in
//! `PORTCULLIS_TEST_MAILDIR`, written so that a visible `.eml` is complete. Tests find their
//! mail by a recipient address nobody else uses.

use base64::Engine as _;
use std::time::{Duration, Instant};

use super::require_env;

/// How long a test waits for a message.
const MAIL_WAIT: Duration = Duration::from_secs(15);

/// One received message, its body decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_tos: Vec<String>,
    /// `Subject:` header, unfolded and decoded.
    pub subject: String,
    /// Text body with its transfer encoding undone.
    pub body: String,
    /// The message as received.
    pub raw: String,
}

/// Every message received so far for `to` (case-insensitive), oldest first.
pub fn mails_to(to: &str) -> Vec<Mail> {
    let dir = require_env("PORTCULLIS_TEST_MAILDIR");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read PORTCULLIS_TEST_MAILDIR {dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let stem = &name[..name.len() - 4];
        let Ok(meta) = std::fs::read_to_string(format!("{dir}/{stem}.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&meta) else {
            continue;
        };
        let rcpt_tos: Vec<String> = meta["rcpt_tos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to)) {
            continue;
        }
        let Ok(bytes) = std::fs::read(format!("{dir}/{name}")) else {
            continue;
        };
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let (subject, body) = parse(&raw);
        out.push(Mail {
            mail_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
            rcpt_tos,
            subject,
            body,
            raw,
        });
    }
    out
}

/// Waits (up to 15 s) for a message to `to` that `wanted` accepts.
pub async fn wait_for_mail(to: &str, wanted: impl Fn(&Mail) -> bool) -> Mail {
    let start = Instant::now();
    loop {
        if let Some(m) = mails_to(to).into_iter().find(|m| wanted(m)) {
            return m;
        }
        if start.elapsed() > MAIL_WAIT {
            let seen: Vec<String> = mails_to(to).into_iter().map(|m| m.subject).collect();
            panic!("no matching mail for {to} within {MAIL_WAIT:?}; messages to it: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The token of a `{base}/{path}?token=XYZ` link in `body`.
pub fn link_token(body: &str, base: &str, path: &str) -> Option<String> {
    let prefix = format!("{base}/{path}?token=");
    let start = body.find(&prefix)? + prefix.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// Splits a single-part message into its decoded subject and body.
fn parse(raw: &str) -> (String, String) {
    let normalized = raw.replace("\r\n", "\n");
    let (head, body) = normalized
        .split_once("\n\n")
        .unwrap_or((normalized.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let subject = decode_words(&get("subject"));
    let body = match get("content-transfer-encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_else(|e| panic!("bad base64 mail body ({e}):\n{raw}"));
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_owned(),
    };
    (subject, body)
}

/// Undoes quoted-printable (RFC 2045 §6.7): soft line breaks and `=XX` escapes.
fn quoted_printable(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(hex) = s.get(i + 1..i + 3)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    for word in value.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                match enc.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()
                        .map(|b| String::from_utf8_lossy(&b).into_owned()),
                    "q" => Some(quoted_printable(&text.replace('_', " "))),
                    _ => None,
                }
            });
        match decoded {
            Some(d) => out.push_str(&d),
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
    }
    out
}
