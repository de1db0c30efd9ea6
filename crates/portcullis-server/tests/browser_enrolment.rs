//! In a real headless Chromium (Debian's, driven by playwright-core from `tests/browser/`):
//! enrolment at sign-in for someone whose role requires two factors and who has none, and a
//! passkey step-up on the step-up page. `scripts/test` exports `PORTCULLIS_TEST_CHROMIUM` and
//! `PORTCULLIS_TEST_BROWSER_DIR`; without them these tests fail with a hint (never skip).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::factor::FactorKind;
use std::time::Duration;
use support::browser::{run_script, screenshot_dir};
use support::{TestApp, strong_password, unique_email};

/// An administrator whose role requires two factors and who has none signs in, is sent to
/// the enrolment page, sets up an authenticator app, and its first code signs in at aal2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_must_have_mfa_enrols_at_sign_in_in_chromium() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| {
            c.login.required_factors.insert("admin".into(), 2);
            c.login
                .mfa_factors
                .insert("admin".into(), vec![FactorKind::Totp, FactorKind::Passkey]);
        })
        .spawn()
        .await;
    let email = unique_email("page-enrol");
    let password = strong_password();
    let id = app.register_active(&email, &password).await;
    app.set_roles(&id, &["admin"]).await;
    run_script(
        &app,
        "enrol.js",
        &screenshot_dir("enrolment"),
        &[&email, &password],
        &["41-enrol-required", "42-enrol-totp", "43-enrolled-security"],
    )
    .await;
}

/// A stale session steps up with a passkey (Chromium's virtual authenticator) on the
/// step-up page before a factor change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_session_steps_up_with_a_passkey_in_chromium() {
    let app = TestApp::builder()
        .file_mail()
        .configure(|c| c.mfa.fresh_auth = Duration::from_secs(5))
        .spawn()
        .await;
    let email = unique_email("page-stepup-passkey");
    let password = strong_password();
    app.register_active(&email, &password).await;
    run_script(
        &app,
        "stepup_passkey.js",
        &screenshot_dir("stepup-passkey"),
        &[&email, &password, "5500"],
        &[
            "51-step-up-passkey",
            "52-stepped-up",
            "53-change-after-step-up",
        ],
    )
    .await;
}
