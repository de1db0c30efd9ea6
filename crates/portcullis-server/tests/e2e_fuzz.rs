//! End-to-end: a few hundred odd and hostile request bodies (huge strings, odd Unicode, NULs,
//! wrong types, deep nesting, raw bytes) never make the server answer 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, strong_password, unique_email};

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b@example.com",
    "@",
    "@@",
    "a@",
    "@b.c",
    "a@b",
    "a@b.",
    "a@-b.com",
    "a@b..com",
    "\u{202e}moc.elpmaxe@a",
    "\u{feff}a@example.com",
    "ünïcödé@exämple.com",
    "用户@例子.广告",
    "😀@😀.com",
    "a@example.com\r\nBcc: victim@example.com",
    "a@example.com\nX-Injected: 1",
    "<script>alert(1)</script>@example.com",
    "'; DROP TABLE accounts; --@example.com",
    "a\"b@example.com",
    "%00@example.com",
    "\\u0000",
    "+14155552671",
    "+0000000000",
    "+999999999999999999999",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "\u{fffd}\u{fffd}",
    "\u{10ffff}",
    "Ω≈ç√∫˜µ≤≥÷",
    "ᚠᛇᚻ᛫ᛒᛦᚦ",
    "\u{200b}",
];

fn odd_string(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => (*rng.pick(ODD_STRINGS)).to_owned(),
        1 => {
            // Long repetitive strings, up to ~60 KB (some over the 64 KiB body limit once
            // wrapped in JSON with others).
            let unit = *rng.pick(&["a", "é", "😀", "\u{0}", "@", "a@b.co ", "\\"]);
            unit.repeat(1 + rng.below(20_000))
        }
        2 => {
            // Random code points.
            (0..rng.below(200))
                .filter_map(|_| char::from_u32((rng.next() % 0x11_0000) as u32))
                .collect()
        }
        3 => format!("{}@example.com", "x".repeat(rng.below(300))),
        4 => format!("{}{}", rng.pick(ODD_STRINGS), rng.pick(ODD_STRINGS)),
        _ => unique_email("fuzz"),
    }
}

fn odd_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from_bits(rng.next() & 0x7fef_ffff_ffff_ffff)),
        4 | 5 => Value::String(odd_string(rng)),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| odd_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                m.insert(odd_string(rng), odd_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

fn odd_body(rng: &mut Rng, fields: &[&str]) -> Vec<u8> {
    match rng.below(10) {
        // Mostly well-formed objects with the right field names and odd values.
        0..=5 => {
            let mut m = serde_json::Map::new();
            for f in fields {
                if rng.below(5) != 0 {
                    let v = if *f == "email" && rng.below(2) == 0 {
                        // A valid address, so the odd values behind it get looked at.
                        Value::String(unique_email("fuzz"))
                    } else if rng.below(3) == 0 {
                        odd_value(rng, 0)
                    } else {
                        Value::String(odd_string(rng))
                    };
                    m.insert((*f).to_owned(), v);
                }
            }
            serde_json::to_vec(&Value::Object(m)).unwrap()
        }
        6 => serde_json::to_vec(&odd_value(rng, 0)).unwrap(),
        // Deep nesting.
        7 => {
            let n = 1 + rng.below(5000);
            format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
        }
        // Raw bytes.
        8 => (0..rng.below(3000)).map(|_| rng.next() as u8).collect(),
        // Invalid UTF-8 inside a string.
        _ => {
            let mut b = br#"{"email":""#.to_vec();
            b.extend([0xff, 0xfe, 0xc3, 0x28]);
            b.extend(br#"","password":"x"}"#);
            b
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_input_never_causes_a_server_error() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.rate_limit.per_ip_per_minute = 1_000_000;
            c.rate_limit.auth_per_ip_per_minute = 1_000_000;
            c.rate_limit.per_account_per_minute = 1_000_000;
        })
        .spawn()
        .await;
    // A real account, so some odd inputs meet real data.
    let known = unique_email("fuzz-known");
    app.register(&known, &strong_password()).await.expect(201);

    let targets: &[(&str, &[&str])] = &[
        ("/v1/sessions", &["email", "password"]),
        (
            "/v1/accounts",
            &["email", "password", "display_name", "phone"],
        ),
        ("/v1/password/forgot", &["email"]),
        ("/v1/accounts/verify", &["token"]),
        ("/v1/tokens/refresh", &["refresh_token"]),
    ];
    let seed = 0x5eed_0f0d_u64;
    let mut rng = Rng(seed);
    let mut statuses = std::collections::BTreeMap::<(String, u16), usize>::new();
    for i in 0..400 {
        let (path, fields) = if i % 3 == 0 {
            targets[0]
        } else if i % 3 == 1 {
            targets[1]
        } else {
            *rng.pick(&targets[2..])
        };
        let mut body = odd_body(&mut rng, fields);
        if i % 17 == 0 {
            // The known address with odd passwords.
            body = serde_json::to_vec(&json!({ "email": known, "password": odd_string(&mut rng) }))
                .unwrap();
        }
        let content_type = if rng.below(20) == 0 {
            "application/json; charset=utf-8"
        } else {
            "application/json"
        };
        let reply = app
            .send(
                app.request(Method::POST, path, None)
                    .header("content-type", content_type)
                    .body(body.clone()),
            )
            .await;
        let status = reply.status.as_u16();
        assert!(
            status < 500,
            "request #{i} (seed {seed:#x}) to {path} got {status}: {}\nbody sent: {:?}",
            reply.text,
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
        if !reply.status.is_success() {
            // Every refusal is a problem document.
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json"),
                "request #{i} to {path}: {status} {}",
                reply.text
            );
        }
        *statuses.entry((path.to_owned(), status)).or_default() += 1;
    }
    // The server is still healthy afterwards.
    app.get("/health", None).await.expect(200);
    eprintln!("status counts: {statuses:?}");
}
