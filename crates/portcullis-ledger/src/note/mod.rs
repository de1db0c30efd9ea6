//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
//! `— <key name> base64(key id ‖ signature)`. It is the envelope Go's `sumdb/note`, the
//! transparency-dev tools and witnesses read, so a ledger's signed tree head can be checked
//! with tools that are not ours. A ledger has one key; verifiers are configured with that
//! key's *vkey* string (`<name>+<hex key id>+base64(0x01 ‖ public key)`).
//!
//! Only signature type `0x01` (plain Ed25519 over the note text) is produced and verified.
//! Signatures by other keys are ignored, as the specification demands, so a note that a
//! witness cosigned, or one signed by the next key during a rotation, still opens.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The signature type byte of Ed25519 in key ids and vkeys.
const ALG_ED25519: u8 = 0x01;

/// The largest note [`NoteVerifier::open`] reads: the specification asks verifiers to bound
/// notes yet accept 16 signatures of up to ~5 kB (post-quantum), so 128 KiB leaves room.
pub const MAX_NOTE_LEN: usize = 128 * 1024;

/// The most signature lines a note may carry (Go's `sumdb/note` refuses more than 100 too).
pub const MAX_SIGNATURES: usize = 100;

/// The line prefix of a signature: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note could not be signed, a key not built, or a note not opened.
///
/// Messages name what was wrong with the input, never key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name is empty, or holds a space, a `+` or a control character.
    #[error("a key name must be non-empty, without spaces, '+' or control characters")]
    InvalidName,
    /// The text to sign is empty, does not end in a newline or holds control characters.
    #[error("a note text must be non-empty, end in a newline and hold no control characters")]
    InvalidText,
    /// The note is larger than [`MAX_NOTE_LEN`].
    #[error("the note is larger than {MAX_NOTE_LEN} bytes")]
    TooLarge,
    /// The note is not a signed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A vkey string is not `<name>+<8 hex digits>+base64(0x01 ‖ 32-byte key)`.
    #[error("malformed verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// A vkey's key id is not the one its name and key give.
    #[error("the verifier key's id does not match its name and key")]
    KeyIdMismatch,
    /// A signature line names this key (name and id) but does not verify: the note was
    /// altered or signed by an impostor, and the whole note is refused.
    #[error("a signature by this key does not verify")]
    BadSignature,
    /// No signature line is by this key.
    #[error("the note has no signature by this key")]
    Unverified,
    /// A private key is not `PRIVATE+KEY+<name>+<8 hex digits>+base64(0x01 ‖ 32-byte seed)`
    /// with the id its name and key give.
    #[error("malformed private key")]
    InvalidKey,
}

/// Whether `name` may name a key: non-empty, no Unicode space, no `+` (the specification's
/// rule, which is Go's), and no ASCII control character, which no note may hold.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
}

/// Whether `text` may be a note's text: non-empty, ends in a newline, and no ASCII control
/// character other than the newline (the note format forbids them).
fn valid_text(text: &str) -> bool {
    text.ends_with('\n') && !has_forbidden_control(text)
}

/// Whether `s` holds an ASCII control character (below U+0020) other than a newline.
fn has_forbidden_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`, big-endian: the specification's key id.
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(key.as_bytes());
    let sum = h.finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

/// A ledger's signing key under its name. Its `Debug` shows the name and key id only.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` (for a checkpoint, the log's origin).
    ///
    /// # Errors
    /// [`NoteError::InvalidName`] when the name breaks the specification's rules.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::InvalidName);
        }
        let id = key_id(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// The signer written as Go's `note` package writes a private key:
    /// `PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 ‖ seed)`, which is how a ledger's key
    /// file holds it (and what Go tools read).
    pub fn to_skey(&self) -> zeroize::Zeroizing<String> {
        let mut raw = zeroize::Zeroizing::new(Vec::with_capacity(33));
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        zeroize::Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(raw.as_slice())
        ))
    }

    /// Reads what [`NoteSigner::to_skey`] writes.
    ///
    /// # Errors
    /// [`NoteError::InvalidKey`] when it is not such a key or its id does not match.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::InvalidKey)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::InvalidKey);
        };
        let raw = zeroize::Zeroizing::new(STANDARD.decode(key).map_err(|_| NoteError::InvalidKey)?);
        let seed: [u8; 32] = match raw.split_first() {
            Some((&ALG_ED25519, seed)) => seed.try_into().map_err(|_| NoteError::InvalidKey)?,
            _ => return Err(NoteError::InvalidKey),
        };
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed))?;
        if !id.eq_ignore_ascii_case(&format!("{:08x}", signer.id)) {
            return Err(NoteError::InvalidKey);
        }
        Ok(signer)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id that prefixes each signature.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier of this key's signatures.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// `text` signed: the text, a blank line and this key's signature line.
    ///
    /// # Errors
    /// [`NoteError::InvalidText`] when `text` cannot be a note's text, [`NoteError::TooLarge`]
    /// when the note would be larger than a verifier reads.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if !valid_text(text) {
            return Err(NoteError::InvalidText);
        }
        let sig = self.key.sign(text.as_bytes());
        let mut raw = Vec::with_capacity(4 + Signature::BYTE_SIZE);
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        let note = format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(raw)
        );
        if note.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge);
        }
        Ok(note)
    }
}

/// A public key under its name: what opens notes signed by the matching [`NoteSigner`].
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: u32,
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoteVerifier").field(&self.vkey()).finish()
    }
}

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    ///
    /// # Errors
    /// [`NoteError::InvalidName`] when the name breaks the specification's rules.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::InvalidName);
        }
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses a vkey, `<name>+<8 hex digits>+base64(0x01 ‖ 32-byte Ed25519 key)`, and checks
    /// that its key id is the one the name and key give (a typo cannot pass).
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] when it is not a vkey of an Ed25519 key,
    /// [`NoteError::KeyIdMismatch`] when its id is wrong.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        // The name holds no '+', the id neither; base64 may, so split twice only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::InvalidVerifierKey(
                "not three '+'-separated parts",
            ));
        };
        if !valid_name(name) {
            return Err(NoteError::InvalidVerifierKey("invalid key name"));
        }
        if hex_id.len() != 8 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::InvalidVerifierKey(
                "the key id is not 8 hex digits",
            ));
        }
        let id = u32::from_str_radix(hex_id, 16)
            .map_err(|_| NoteError::InvalidVerifierKey("the key id is not 8 hex digits"))?;
        let raw = STANDARD
            .decode(key64)
            .map_err(|_| NoteError::InvalidVerifierKey("the key is not base64"))?;
        let Some((&alg, key)) = raw.split_first() else {
            return Err(NoteError::InvalidVerifierKey("the key is empty"));
        };
        if alg != ALG_ED25519 {
            return Err(NoteError::InvalidVerifierKey(
                "not an Ed25519 key (type 0x01)",
            ));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::InvalidVerifierKey("an Ed25519 key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| NoteError::InvalidVerifierKey("not an Ed25519 public key"))?;
        let verifier = Self::new(name, key)?;
        if verifier.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id that prefixes this key's signatures.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The vkey string that names this key to other tools (Go's `note.NewVerifier`).
    pub fn vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }

    /// Opens a signed note: returns its text when a signature by this key (same name and key
    /// id) verifies. Signatures by other keys are skipped unchecked; every one by this key
    /// must verify, or the note is refused.
    ///
    /// # Errors
    /// [`NoteError::TooLarge`], [`NoteError::Malformed`], [`NoteError::BadSignature`] or
    /// [`NoteError::Unverified`].
    pub fn open<'n>(&self, note: &'n str) -> Result<&'n str, NoteError> {
        if note.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge);
        }
        if has_forbidden_control(note) {
            return Err(NoteError::Malformed("a control character"));
        }
        // The text ends at the last blank line; it keeps its final newline.
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::Malformed(
                "no signature line ending in a newline",
            ));
        };
        let mut verified = false;
        for (n, line) in sigs.split('\n').enumerate() {
            if n >= MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let (name, id, sig) = parse_signature_line(line)?;
            if name != self.name || id != self.id {
                continue;
            }
            let sig = Signature::from_slice(&sig).map_err(|_| NoteError::BadSignature)?;
            self.key
                .verify_strict(text.as_bytes(), &sig)
                .map_err(|_| NoteError::BadSignature)?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::Unverified)
        }
    }
}

/// Splits `— <name> <base64>` into the name, the key id and the signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(NoteError::Malformed("a signature line without the em dash"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::Malformed("a signature line without a signature"))?;
    if !valid_name(name) {
        return Err(NoteError::Malformed("an invalid key name"));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| NoteError::Malformed("a signature that is not base64"))?;
    if raw.len() < 5 {
        return Err(NoteError::Malformed("a signature that is too short"));
    }
    let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok((name, id, raw[4..].to_vec()))
}

#[cfg(test)]
mod tests;
