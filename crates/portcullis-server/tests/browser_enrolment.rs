//! In a real headless Chromium (Debian's, driven by playwright-core from `tests/browser/`):
//! enrolment at sign-in for someone whose role requires two factors and who has none, and a
//! passkey step-up on the step-up page. `scripts/test` exports `PORTCULLIS_TEST_CHROMIUM` and
//! `PORTCULLIS_TEST_BROWSER_DIR`; without them these tests fail with a hint (never skip).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::factor::FactorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{TestApp, require_env, strong_password, unique_email};

fn screenshot_dir(sub: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots").join(sub)
}

/// Runs `tests/browser/<script> <base> <maildir> <shots> <args…>`; fails unless it passed
/// and took each of `expected` pictures.
async fn run(app: &TestApp, script: &str, shots: &Path, args: &[&str], expected: &[&str]) {
    let chromium = require_env("PORTCULLIS_TEST_CHROMIUM");
    let dir = PathBuf::from(require_env("PORTCULLIS_TEST_BROWSER_DIR"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules has no playwright-core: run scripts/test",
        dir.display()
    );
    std::fs::create_dir_all(shots).unwrap();
    for entry in std::fs::read_dir(shots).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .arg(&app.base)
        .arg(std::env::var("PORTCULLIS_TEST_MAILDIR").unwrap_or_default())
        .arg(shots)
        .args(args)
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
    println!(
        "{stdout}\n{script}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}\nscreenshots in {}",
        output.status,
        shots.display()
    );
    for name in expected {
        let file = shots.join(format!("{name}.png"));
        let size = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .len();
        assert!(size > 1000, "{} is only {size} bytes", file.display());
    }
}

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
    run(
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
    run(
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
