//! Each ledger's signing key, in a file of its own.
//!
//! The file holds the key as Go's `note` package writes private keys
//! (`PRIVATE+KEY+<name>+<id>+…`), readable by its owner only. The key's name is the ledger's
//! checkpoint origin, fixed when the key is made: a later change of the server's public URL
//! does not change what verifiers already trust.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::LedgerError;
use crate::name::LedgerName;
use crate::note::NoteSigner;

/// The key file of `name` in `dir`.
pub fn key_path(dir: &Path, name: LedgerName) -> PathBuf {
    dir.join(format!("ledger-{name}.key"))
}

/// The checkpoint origin of `name` for a server reachable at `host` (its public URL without
/// the scheme): `<host>/ledger/<name>`, as C2SP asks (a schema-less URL naming the log).
pub fn origin(host: &str, name: LedgerName) -> String {
    format!("{}/ledger/{name}", host.trim_end_matches('/'))
}

/// Reads `name`'s key from `dir`, or makes one named `origin` and writes it (0600).
///
/// # Errors
/// [`LedgerError::Key`] when the file exists but holds no key, [`LedgerError::Io`] when it
/// cannot be read or written.
pub fn load_or_create(
    dir: &Path,
    name: LedgerName,
    origin: &str,
) -> Result<NoteSigner, LedgerError> {
    let path = key_path(dir, name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            NoteSigner::from_skey(&text)
                .map_err(|e| LedgerError::Key(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut_slice())
                .map_err(|e| LedgerError::Key(format!("no randomness: {e}")))?;
            let signer = NoteSigner::new(origin, SigningKey::from_bytes(&seed))?;
            write_new_private(&path, signer.to_skey().as_bytes())?;
            Ok(signer)
        }
        Err(e) => Err(LedgerError::Io(format!("{}: {e}", path.display()))),
    }
}

/// Reads `name`'s key from `dir` without making one (the CLI's read-only commands).
///
/// # Errors
/// As [`load_or_create`], and [`LedgerError::Io`] when there is no key file.
pub fn load(dir: &Path, name: LedgerName) -> Result<NoteSigner, LedgerError> {
    let path = key_path(dir, name);
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .map_err(|e| LedgerError::Io(format!("{}: {e}", path.display())))?,
    );
    NoteSigner::from_skey(&text).map_err(|e| LedgerError::Key(format!("{}: {e}", path.display())))
}

/// Writes a new file, owner-only, refusing to replace one (two nodes starting at once must
/// not overwrite each other's key).
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let io = |e: std::io::Error| LedgerError::Io(format!("{}: {e}", path.display()));
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_key_is_made_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_create(dir.path(), LedgerName::Auth, "id.example/ledger/auth").unwrap();
        let again = load_or_create(dir.path(), LedgerName::Auth, "other/ledger/auth").unwrap();
        // The origin is the one the key was made with.
        assert_eq!(again.name(), "id.example/ledger/auth");
        assert_eq!(again.verifier(), made.verifier());
        assert_eq!(
            load(dir.path(), LedgerName::Auth).unwrap().verifier(),
            made.verifier()
        );
        let other = load_or_create(dir.path(), LedgerName::Req, "id.example/ledger/req").unwrap();
        assert_ne!(other.verifier().key(), made.verifier().key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_path(dir.path(), LedgerName::Auth))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(key_path(dir.path(), LedgerName::Audit), "nonsense").unwrap();
        assert!(load_or_create(dir.path(), LedgerName::Audit, "x/ledger/audit").is_err());
        assert_eq!(
            origin("id.example/", LedgerName::Req),
            "id.example/ledger/req"
        );
    }
}
