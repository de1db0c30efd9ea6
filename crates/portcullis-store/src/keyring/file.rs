//! The key file: its JSON shape, atomic writes with mode 0600 and the check that warns when
//! others can read it.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::crypto::{random_array, to_array};
use super::{KEY_LEN, Key, Keyring, KeyringError, MasterKey};

const FILE_FORMAT: u32 = 1;

impl Keyring {
    pub(super) fn from_json(text: &str) -> Result<Self, KeyringError> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            // serde's own message may quote values from the file, i.e. key material.
            KeyringError::Format(format!(
                "invalid key file ({:?} error) at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if file.format != FILE_FORMAT {
            return Err(KeyringError::Format(format!(
                "unsupported key file format {}",
                file.format
            )));
        }
        let mut masters = BTreeMap::new();
        for entry in &file.masters {
            if entry.version == 0 {
                return Err(KeyringError::Format(
                    "master key version 0 is reserved".into(),
                ));
            }
            let key = decode_key(&entry.key, &format!("master key {}", entry.version))?;
            let master = MasterKey {
                key,
                created_at: entry.created_at,
            };
            if masters.insert(entry.version, master).is_some() {
                let msg = format!("master key version {} appears twice", entry.version);
                return Err(KeyringError::Format(msg));
            }
        }
        if !masters.contains_key(&file.current) {
            let msg = format!("current master version {} is not in the file", file.current);
            return Err(KeyringError::Format(msg));
        }
        let index_key = decode_key(&file.index_key, "index key")?;
        Ok(Self {
            current: file.current,
            index_key,
            masters,
        })
    }

    pub(super) fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        let masters = self.masters.iter().map(|(&version, master)| MasterEntry {
            version,
            key: B64.encode(master.key.as_slice()),
            created_at: master.created_at,
        });
        let file = KeyFile {
            format: FILE_FORMAT,
            current: self.current,
            index_key: B64.encode(self.index_key.as_slice()),
            masters: masters.collect(),
        };
        let mut json = Zeroizing::new(
            serde_json::to_vec_pretty(&file)
                .map_err(|_| KeyringError::Format("cannot serialise the key file".into()))?,
        );
        json.push(b'\n');
        Ok(json)
    }
}

/// The on-disk shape; its strings hold base64 key material, hence zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: u32,
    current: u32,
    index_key: String,
    masters: Vec<MasterEntry>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct MasterEntry {
    version: u32,
    key: String,
    created_at: i64,
}

fn decode_key(text: &str, what: &str) -> Result<Key, KeyringError> {
    // The decoder's message would quote the offending byte: keep it out of the error.
    let bytes = Zeroizing::new(
        B64.decode(text)
            .map_err(|_| KeyringError::Format(format!("{what} is not valid base64")))?,
    );
    let key = to_array::<KEY_LEN>(&bytes)
        .map_err(|_| KeyringError::Format(format!("{what} must be {KEY_LEN} bytes")))?;
    Ok(Zeroizing::new(key))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Persist {
    /// Replace an existing file (save).
    Replace,
    /// Never clobber: if the file appeared meanwhile, leave it and report `false`.
    CreateNew,
}

/// Writes `contents` to a temporary file (mode 0600) beside `path`, syncs it, then moves it
/// into place and syncs the directory. Returns whether `path` now holds `contents`.
pub(super) fn write_atomic(
    path: &Path,
    contents: &[u8],
    mode: Persist,
) -> Result<bool, KeyringError> {
    let io_err = |error| KeyringError::Io {
        path: path.to_path_buf(),
        error,
    };
    let name = path.file_name().ok_or_else(|| {
        io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_dirs(dir).map_err(io_err)?;
    let suffix = hex::encode(random_array::<8>()?);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{suffix}.tmp"));
    let tmp = dir.join(tmp_name);

    let result = write_new(&tmp, contents).and_then(|()| match mode {
        Persist::Replace => fs::rename(&tmp, path).map(|()| true),
        Persist::CreateNew => {
            // A hard link fails if `path` exists, unlike rename: no clobbering in a race.
            let linked = match fs::hard_link(&tmp, path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(e),
            };
            fs::remove_file(&tmp).map(|()| linked)
        }
    });
    if result.is_err() {
        // Best effort: the temporary file may never have been created.
        let _ = fs::remove_file(&tmp);
    }
    let written = result.map_err(io_err)?;
    sync_dir(dir).map_err(io_err)?;
    Ok(written)
}

fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub(super) fn warn_if_exposed(path: &Path, metadata: &fs::Metadata) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "keyring file is accessible by group or others; it should have mode 0600"
        );
    }
}

#[cfg(not(unix))]
pub(super) fn warn_if_exposed(_path: &Path, _metadata: &fs::Metadata) {}
