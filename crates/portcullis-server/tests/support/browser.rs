//! The pages in a real headless Chromium: runs a playwright-core script of `tests/browser/`
//! against a spawned server and checks the screenshots it took. `scripts/test` installs
//! Chromium and the npm packages and exports `PORTCULLIS_TEST_CHROMIUM` and
//! `PORTCULLIS_TEST_BROWSER_DIR`; without them a browser test fails with a hint (it never
//! skips).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{TestApp, require_env};

/// The screenshots' folder `<target>/browser-screenshots/<sub>` (`sub` empty: the folder
/// itself).
pub fn screenshot_dir(sub: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-screenshots");
    if sub.is_empty() { dir } else { dir.join(sub) }
}

/// Runs `tests/browser/<script> <base> <maildir> <shots> <args…>` against `app`; fails the
/// test unless every step passed and each of `expected` pictures was taken into `shots`.
pub async fn run_script(
    app: &TestApp,
    script: &str,
    shots: &Path,
    args: &[&str],
    expected: &[&str],
) {
    let chromium = require_env("PORTCULLIS_TEST_CHROMIUM");
    let dir = PathBuf::from(require_env("PORTCULLIS_TEST_BROWSER_DIR"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules has no playwright-core: run scripts/test (it runs npm ci there)",
        dir.display()
    );
    let maildir = require_env("PORTCULLIS_TEST_MAILDIR");
    // Only this run's pictures (and a failure's) stay.
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
        .arg(&maildir)
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
    println!("{stdout}");
    println!(
        "{script}: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
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
