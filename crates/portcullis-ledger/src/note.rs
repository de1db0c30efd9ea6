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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    // Vectors from golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// Go's `PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ seed)` as a signer.
    fn peter() -> NoteSigner {
        let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
        assert_eq!(signer.to_skey().as_str(), PETER_SKEY);
        signer
    }

    #[test]
    fn skeys_with_a_wrong_id_or_shape_are_refused() {
        for bad in [
            PETER_SKEY.replace("c74f20a3", "c74f20a4"),
            PETER_SKEY.replace("PRIVATE+KEY+", ""),
            PETER_SKEY.replace("+AYEK", "+AoEK"),
            PETER_SKEY[..PETER_SKEY.len() - 4].to_owned(),
            "PRIVATE+KEY+x".to_owned(),
        ] {
            assert!(NoteSigner::from_skey(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signing_the_go_vector_gives_go_s_note_and_vkey() {
        let signer = peter();
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.sign(TEXT).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
        assert_eq!(signer.verifier().vkey(), PETER_VKEY);
        let parsed = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        assert_eq!(parsed, signer.verifier());
        assert_eq!(parsed.name(), "PeterNeumann");
        assert_eq!(parsed.key_id(), 0xc74f20a3);
    }

    #[test]
    fn open_skips_unknown_keys_and_needs_one_known_signature() {
        let peter = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let enoch = NoteVerifier::from_vkey(ENOCH_VKEY).unwrap();
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(peter.open(&both), Ok(TEXT));
        assert_eq!(enoch.open(&both), Ok(TEXT));
        let only_enoch = format!("{TEXT}\n{ENOCH_SIG}");
        assert_eq!(peter.open(&only_enoch), Err(NoteError::Unverified));
        // Same name, other id; same id, other name: someone else's key, ignored.
        let other_id = PETER_SIG.replace("x08g", "xxxx");
        assert_eq!(
            peter.open(&format!("{TEXT}\n{other_id}")),
            Err(NoteError::Unverified)
        );
        let other_name = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
        assert_eq!(
            peter.open(&format!("{TEXT}\n{other_name}")),
            Err(NoteError::Unverified)
        );
        let twice = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
        assert_eq!(peter.open(&twice), Ok(TEXT));
    }

    #[test]
    fn a_bad_signature_by_the_key_refuses_the_note() {
        let peter = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let forged = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let note = format!("{TEXT}\n{forged}");
        assert_eq!(peter.open(&note), Err(NoteError::BadSignature));
        // A good signature does not excuse a bad one by the same key.
        let note = format!("{TEXT}\n{PETER_SIG}{forged}");
        assert_eq!(peter.open(&note), Err(NoteError::BadSignature));
        // A changed text, a changed byte of the signature.
        let note = format!("{TEXT}\n{PETER_SIG}").replace("answer", "Answer");
        assert_eq!(peter.open(&note), Err(NoteError::BadSignature));
        let note = format!("{TEXT}\n{}", PETER_SIG.replace("x08go/ZJ", "x08go/ZK"));
        assert_eq!(peter.open(&note), Err(NoteError::BadSignature));
        // A signature of the wrong length by the key is a bad one, not a panic.
        let short = format!(
            "\u{2014} PeterNeumann {}\n",
            STANDARD.encode([0xc7, 0x4f, 0x20, 0xa3, 1])
        );
        assert_eq!(
            peter.open(&format!("{TEXT}\n{short}")),
            Err(NoteError::BadSignature)
        );
    }

    #[test]
    fn malformed_notes_are_refused() {
        let peter = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        // Go's badMsgs, then a few of our own.
        let bad = [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
            format!("{TEXT}\n\u{2014} PeterNeumann\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann \n"),
            format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann not*base64\n"),
            format!("{TEXT}\n{}", PETER_SIG.replace('\n', "\r\n")),
            format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1)),
            String::new(),
        ];
        for note in &bad {
            assert!(
                matches!(peter.open(note), Err(NoteError::Malformed(_))),
                "{note:?} opened or failed otherwise: {:?}",
                peter.open(note)
            );
        }
        let huge = format!("{}\n\n{PETER_SIG}", "a".repeat(MAX_NOTE_LEN));
        assert_eq!(peter.open(&huge), Err(NoteError::TooLarge));
    }

    #[test]
    fn open_never_panics_on_a_cut_or_changed_note() {
        let peter = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let peter_only = format!("{TEXT}\n{PETER_SIG}");
        for (at, _) in note.char_indices() {
            assert!(peter.open(&note[..at]).is_err() || note[..at] == peter_only);
            assert!(peter.open(&note[at..]).is_err() || at == 0);
        }
        let chars: Vec<char> = note.chars().collect();
        for i in 0..chars.len() {
            for c in ['\n', ' ', '+', '=', 'A', '\u{2014}'] {
                let mut changed = chars.clone();
                changed[i] = c;
                let changed: String = changed.into_iter().collect();
                // Only what leaves Peter's text and signature intact may open.
                if peter.open(&changed).is_ok() {
                    assert!(changed.starts_with(&peter_only), "{changed:?}");
                }
            }
        }
    }

    #[test]
    fn sign_refuses_texts_that_are_not_note_texts_and_names_that_are_not_names() {
        let signer = peter();
        for text in ["", "abc", "a\tb\n", "a\rb\n", "no newline"] {
            assert_eq!(signer.sign(text), Err(NoteError::InvalidText), "{text:?}");
        }
        let huge = format!("{}\n", "a".repeat(MAX_NOTE_LEN));
        assert_eq!(signer.sign(&huge), Err(NoteError::TooLarge));
        for text in ["\n", "a\n\nb\n", "\u{e8}t\u{e9}\n"] {
            let note = signer.sign(text).unwrap();
            assert_eq!(signer.verifier().open(&note), Ok(text));
        }
        let key = SigningKey::from_bytes(&[7; 32]);
        for name in [
            "",
            "a b",
            "a+b",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\tb",
            "a\u{1}b",
        ] {
            assert_eq!(
                NoteSigner::new(name, key.clone()).map(|_| ()),
                Err(NoteError::InvalidName),
                "{name:?}"
            );
            assert!(NoteVerifier::new(name, key.verifying_key()).is_err());
        }
        assert!(NoteSigner::new("example.com/ledger/audit", key).is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let signer = peter();
        let shown = format!("{signer:?}");
        assert!(
            shown.contains("PeterNeumann") && shown.contains("c74f20a3"),
            "{shown}"
        );
        let seed = signer.key.to_bytes();
        assert!(!shown.contains(&hex::encode(seed)));
        assert!(!shown.contains(&STANDARD.encode(seed)));
        assert!(!shown.contains(&format!("{seed:?}")));
        assert!(!shown.contains(&format!("{:?}", seed[0..4].to_vec())));
    }

    #[test]
    fn mangled_vkeys_are_refused() {
        // Go's TestNewVerifier: every proper substring and every single-byte change fails.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    assert!(
                        NoteVerifier::from_vkey(&PETER_VKEY[i..j]).is_err(),
                        "{i}..{j}"
                    );
                }
            }
        }
        for i in 0..b.len() {
            let mut changed = b.to_vec();
            changed[i] += 1;
            let changed = String::from_utf8(changed).unwrap();
            assert!(NoteVerifier::from_vkey(&changed).is_err(), "{changed}");
        }
        // Wrong key length and unknown algorithm, each with a key id that matches.
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(matches!(
                NoteVerifier::from_vkey(bad),
                Err(NoteError::InvalidVerifierKey(_))
            ));
        }
        let wrong_id = PETER_VKEY.replace("c74f20a3", "c74f20a4");
        assert_eq!(
            NoteVerifier::from_vkey(&wrong_id),
            Err(NoteError::KeyIdMismatch)
        );
        // The id's case does not matter to Go's ParseUint, nor to us.
        let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert!(NoteVerifier::from_vkey(&upper).is_ok());
    }

    #[test]
    fn the_c2sp_example_opens_with_its_vkey() {
        // c2sp.org/signed-note, "Verifier keys", Example.
        let v = NoteVerifier::from_vkey(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        assert_eq!(v.open(note), Ok("This is an example message.\n"));
    }
}
