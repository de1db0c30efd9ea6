//! The signing-key file in the data directory: generated on first start, reused after.
//!
//! Development keys live beside the database with mode 0600. `portcullis keys rotate` edits
//! the same file; a running server notices the change and reloads it, so retired keys stay
//! published in the JWKS until every token they signed has expired.

use portcullis_core::entropy::Entropy;
use portcullis_core::token::{KeyRecord, TokenKeys};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the signing keys under the data directory.
pub const SIGNING_KEYS_FILE: &str = "signing-keys.json";
/// File name of the keyring under the data directory.
pub const KEYRING_FILE: &str = "keyring.json";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: u32,
    keys: Vec<KeyRecord>,
}

/// Paths of the key files for a data directory.
pub fn signing_keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SIGNING_KEYS_FILE)
}

/// Path of the keyring file for a data directory.
pub fn keyring_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYRING_FILE)
}

/// Loads the signing keys, or generates and saves a first key. Returns whether it generated.
///
/// # Errors
/// Unreadable or malformed file, or a failed write.
pub fn load_or_generate(
    path: &Path,
    entropy: &dyn Entropy,
    now: i64,
) -> anyhow::Result<(TokenKeys, bool)> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let mut seed = [0u8; 32];
    entropy.fill(&mut seed);
    let keys = TokenKeys::generate(seed, now)?;
    save(path, &keys)?;
    Ok((keys, true))
}

/// Loads the signing keys.
///
/// # Errors
/// Unreadable or malformed file.
pub fn load(path: &Path) -> anyhow::Result<TokenKeys> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("malformed key file {}: {e}", path.display()))?;
    Ok(TokenKeys::from_records(file.keys)?)
}

/// Saves the signing keys atomically with mode 0600.
///
/// # Errors
/// A failed write.
pub fn save(path: &Path, keys: &TokenKeys) -> anyhow::Result<()> {
    let file = KeyFile {
        format: 1,
        keys: keys.records().to_vec(),
    };
    let json = serde_json::to_vec_pretty(&file)?;
    write_private(path, &json)
}

/// Writes `bytes` to `path` through a temporary file and a rename, readable by the owner only.
///
/// # Errors
/// A failed write.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key")
    ));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Modification time of a file, to notice edits by the CLI.
pub fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
