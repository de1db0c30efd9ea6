//! The wallet's state file: the sealed key and the PIN failure counter, written so that a
//! crash or a pulled plug never loses a counted failure.
//!
//! Every change rewrites the whole (small) file: a temporary file beside it, `fsync`,
//! `rename` over the old one, `fsync` of the directory. So the file on disk is always one
//! whole version, and the counter is on the disk before the PIN it counts is tried: killing
//! the wallet in the middle of a try cannot give an attacker a free guess.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sealed::SealedKey;

/// Wrong PINs in a row after which the key is destroyed.
pub const MAX_FAILURES: u8 = 10;

/// What the state file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// The file format; 1.
    pub format: u32,
    /// Wrong PINs in a row (recorded before each try, reset by a right one).
    pub failures: u8,
    /// The sealed key; `None` once wiped.
    pub key: Option<SealedKey>,
}

impl StateFile {
    /// A fresh file around a sealed key.
    pub fn new(key: SealedKey) -> Self {
        Self {
            format: 1,
            failures: 0,
            key: Some(key),
        }
    }

    /// What is left after a wipe: the counter, and no key.
    pub fn wiped() -> Self {
        Self {
            format: 1,
            failures: MAX_FAILURES,
            key: None,
        }
    }
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a state file of a format this version reads.
    #[error("state file {0} is not a wallet state file")]
    Format(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads the state file at `path`.
///
/// # Errors
/// [`StoreError`].
pub fn load(path: &Path) -> Result<StateFile, StoreError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let state: StateFile =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::Format(path.to_owned()))?;
    if state.format != 1 {
        return Err(StoreError::Format(path.to_owned()));
    }
    Ok(state)
}

/// Writes `state` to `path` durably and atomically (see the module's doc).
///
/// # Errors
/// [`StoreError::Io`].
pub fn save(path: &Path, state: &StateFile) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(state).map_err(|_| StoreError::Format(path.to_owned()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(io(&temp))?;
    restrict(&file, &temp)?;
    file.write_all(&json).map_err(io(&temp))?;
    file.sync_all().map_err(io(&temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(io(path))?;
    fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io(&dir))
}

/// Owner read/write only: the sealed key is still worth keeping from other users.
#[cfg(unix)]
fn restrict(file: &fs::File, path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(path))
}

#[cfg(not(unix))]
fn restrict(_: &fs::File, _: &Path) -> Result<(), StoreError> {
    Ok(())
}
