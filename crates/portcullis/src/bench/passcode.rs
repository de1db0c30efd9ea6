//! `portcullis bench passcode`: what an image passcode costs next to the argon2id hash it
//! is built on, on a 5 MiB image.
//!
//! On one thread, with the default argon2id parameters (those of a password), interleaved
//! round by round so that a shared machine weighs on every kind alike:
//!
//! - **hash**: one argon2id hash of a 32-byte secret (what storing any password costs);
//! - **enrol**: core's `image::check` (magic bytes, a full decode within bounded memory, the
//!   size rules), the SHA-256 of the 5 MiB and the argon2id hash of that digest;
//! - **verify (hash)**: one argon2id verification of a 32-byte secret;
//! - **verify**: the SHA-256 of the 5 MiB and the argon2id verification of that digest
//!   (what a login or step-up with the image costs: it does not decode).
//!
//! The targets: enrol ≤ 1.3 × hash, verify ≤ 1.3 × verify (hash).

use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use portcullis_core::factor::image;
use portcullis_core::password::{Argon2Params, PasswordHasher, Verification};
use serde_json::json;

use super::{print_rows, target};

/// Options of `portcullis bench passcode`.
#[derive(clap::Args, Debug)]
pub struct PasscodeArgs {
    /// Rounds; each runs every kind once.
    #[arg(long, default_value_t = 20)]
    pub rounds: u32,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// The largest ratio to the hash alone that the image may cost.
const BOUND: f64 = 1.3;

/// A PNG of RGB noise just under 5 MiB: noise does not compress, so the file is as large as
/// its pixels.
fn five_mib_png() -> anyhow::Result<Vec<u8>> {
    let side: u32 = 1316;
    let mut state: u32 = 0x9e37_79b9;
    let pixels: Vec<u8> = (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let mut out = Vec::new();
    ::image::RgbImage::from_raw(side, side, pixels)
        .context("pixels")?
        .write_to(&mut Cursor::new(&mut out), ::image::ImageFormat::Png)?;
    if out.len() > image::MAX_BYTES || out.len() < 4_900_000 {
        bail!(
            "the generated PNG is {} bytes, not just under 5 MiB",
            out.len()
        );
    }
    Ok(out)
}

/// Runs the benchmark and prints its table.
///
/// # Errors
/// Hashing failed, or the image was refused or did not verify.
pub async fn run(args: PasscodeArgs) -> anyhow::Result<()> {
    let png = five_mib_png()?;
    let hasher = PasswordHasher::new(Argon2Params::default())?;
    let salt = [7u8; 16];
    let secret = [42u8; 32];
    let stored_plain = hasher.hash_secret(&secret, salt)?;
    let stored_image = hasher.hash_secret(image::digest(&png).as_slice(), salt)?;
    let mut spent = [Duration::ZERO; 4];
    for _ in 0..args.rounds.max(1) {
        let t = Instant::now();
        std::hint::black_box(hasher.hash_secret(&secret, salt)?);
        spent[0] += t.elapsed();

        let t = Instant::now();
        image::check(&png).map_err(|e| anyhow::anyhow!("the image was refused: {e}"))?;
        std::hint::black_box(hasher.hash_secret(image::digest(&png).as_slice(), salt)?);
        spent[1] += t.elapsed();

        let t = Instant::now();
        let plain = hasher.verify_secret(&secret, &stored_plain)?;
        spent[2] += t.elapsed();

        let t = Instant::now();
        let verified = hasher.verify_secret(image::digest(&png).as_slice(), &stored_image)?;
        spent[3] += t.elapsed();
        if !matches!(plain, Verification::Match { .. })
            || !matches!(verified, Verification::Match { .. })
        {
            bail!("a verification failed");
        }
    }
    let n = f64::from(args.rounds.max(1));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / n;
    let (hash, enrol, verify_hash, verify) =
        (ms(spent[0]), ms(spent[1]), ms(spent[2]), ms(spent[3]));
    let enrol_ratio = enrol / hash;
    let verify_ratio = verify / verify_hash;
    println!(
        "image passcode on a {:.2} MiB PNG, argon2id {:?}, {} rounds",
        png.len() as f64 / 1_048_576.0,
        Argon2Params::default(),
        args.rounds
    );
    print_rows(&[
        (
            "argon2id hash (32-byte secret)",
            format!("{hash:.1} ms"),
            String::new(),
        ),
        (
            "image enrol (check+SHA-256+hash)",
            format!("{enrol:.1} ms"),
            String::new(),
        ),
        (
            "  enrol / hash",
            format!("{enrol_ratio:.2}×"),
            target("≤ 1.3×", enrol_ratio <= BOUND),
        ),
        (
            "argon2id verify (32-byte secret)",
            format!("{verify_hash:.1} ms"),
            String::new(),
        ),
        (
            "image verify (SHA-256+verify)",
            format!("{verify:.1} ms"),
            String::new(),
        ),
        (
            "  verify / verify",
            format!("{verify_ratio:.2}×"),
            target("≤ 1.3×", verify_ratio <= BOUND),
        ),
    ]);
    if args.json {
        println!(
            "{}",
            json!({
                "image_bytes": png.len(),
                "hash_ms": hash, "enrol_ms": enrol, "enrol_ratio": enrol_ratio,
                "verify_hash_ms": verify_hash, "verify_ms": verify, "verify_ratio": verify_ratio,
            })
        );
    }
    Ok(())
}
