//! Pattern OTP on the pages in a real headless Chromium (Debian's, driven by playwright-core
//! from `tests/browser/pattern.js`): enrolled on `/security` by drawing the pattern the real
//! SMTP receiver got, then used to sign in, drawn once with the mouse and once with the
//! keyboard. Screenshots of the pad go to `<target>/browser-screenshots/pattern/`.
//!
//! `scripts/test` installs Chromium and the npm packages and exports
//! `PORTCULLIS_TEST_CHROMIUM` and `PORTCULLIS_TEST_BROWSER_DIR`; without them the test fails
//! with a hint (it never skips).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{TestApp, require_env, strong_password, unique_email};

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots").join("pattern")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_otp_is_enrolled_and_drawn_with_mouse_and_keyboard_in_chromium() {
    // Three patterns go to one address within minutes, and one sign-in is refused on purpose:
    // the bounds that would otherwise answer first are lifted.
    let app = TestApp::builder()
        .configure(|c| {
            c.mail.recipient_max_sends = 20;
            c.login.free_failures = 20;
            c.rate_limit.per_account_per_minute = 1_000;
        })
        .spawn()
        .await;
    let email = unique_email("browser-pattern");
    let password = strong_password();
    app.register_verified(&email, &password).await;

    let chromium = require_env("PORTCULLIS_TEST_CHROMIUM");
    let dir = PathBuf::from(require_env("PORTCULLIS_TEST_BROWSER_DIR"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules has no playwright-core: run scripts/test (it runs npm ci there)",
        dir.display()
    );
    let maildir = require_env("PORTCULLIS_TEST_MAILDIR");
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap();
    for entry in std::fs::read_dir(&shots).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .arg(dir.join("pattern.js"))
        .arg(&app.base)
        .arg(&maildir)
        .arg(&shots)
        .arg(&email)
        .arg(&password)
        .current_dir(&dir)
        .env("PORTCULLIS_TEST_CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), child)
        .await
        .expect("the browser test finishes within 4 minutes")
        .expect("node runs (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    println!(
        "pattern.js: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
    assert!(
        output.status.success(),
        "pattern.js failed ({}):\n{stdout}\n{stderr}\nscreenshots in {}",
        output.status,
        shots.display()
    );
    for name in [
        "31-pattern-pad-enrol",
        "32-pattern-confirm-page",
        "33-pattern-pad-signin",
        "34-factor-picker-pattern",
        "35-pattern-pad-keyboard",
    ] {
        let file = shots.join(format!("{name}.png"));
        let size = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .len();
        assert!(size > 1000, "{} is only {size} bytes", file.display());
    }
}
