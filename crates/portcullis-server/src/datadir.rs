//! The data directory holds the database, the keyring and the signing keys, so only its owner
//! may read it: it is created with mode 0700 and the embedded database with 0600 (SQLite gives
//! its `-wal` and `-shm` files the database's mode), and a directory or file that an older
//! version or an operator left wider is named in a warning at start.

use std::path::{Path, PathBuf};

/// Creates `dir` (and missing parents) owner-only.
///
/// # Errors
/// The directory cannot be created.
pub fn create(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the embedded database file owner-only if it does not exist yet, so SQLite opens a
/// file of ours instead of creating one with the process's default mode.
///
/// # Errors
/// The file cannot be created.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `dir` and the files directly in it that group or others may access.
pub fn too_open(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if is_open(dir) {
        found.push(dir.to_path_buf());
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_file() && is_open(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(unix)]
fn is_open(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn is_open(_: &Path) -> bool {
    false
}

/// Warns once per directory or file in `dir` that group or others may access.
pub fn warn_if_open(dir: &Path) {
    for path in too_open(dir) {
        tracing::warn!(
            path = %path.display(),
            "accessible by group or others: the data directory should be 0700 and its files 0600"
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
    }

    #[test]
    fn created_owner_only_and_wider_ones_are_named() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let dir = root.path().join("data").join("nested");
        create(&dir)?;
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("portcullis.db");
        create_private_file(&db)?;
        assert_eq!(mode(&db), 0o600);
        // An existing file keeps its content and is not an error.
        create_private_file(&db)?;
        assert!(too_open(&dir).is_empty());

        let leaked = dir.join("old.db");
        std::fs::write(&leaked, b"x")?;
        std::fs::set_permissions(&leaked, std::fs::Permissions::from_mode(0o644))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        assert_eq!(too_open(&dir), vec![dir.clone(), leaked]);
        Ok(())
    }
}
