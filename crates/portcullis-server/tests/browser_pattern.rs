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

use support::browser::{run_script, screenshot_dir};
use support::{TestApp, strong_password, unique_email};

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

    run_script(
        &app,
        "pattern.js",
        &screenshot_dir("pattern"),
        &[&email, &password],
        &[
            "31-pattern-pad-enrol",
            "32-pattern-confirm-page",
            "33-pattern-pad-signin",
            "34-factor-picker-pattern",
            "35-pattern-pad-keyboard",
        ],
    )
    .await;
}
