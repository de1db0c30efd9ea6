//! C2SP tlog checkpoints (<https://c2sp.org/tlog-checkpoint>): a ledger's signed tree head.
//!
//! The text is three lines, the origin, the tree size in decimal and the base64 root, signed
//! as a [signed note](crate::note). Following the specification's convention the ledger's key
//! is named after the origin, so [`Checkpoint::open`] insists on both: a checkpoint of another
//! ledger, even one signed by a key we trust, is not this ledger's.

use crate::merkle::Hash;
use crate::note::{NoteError, NoteSigner, NoteVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a checkpoint could not be formatted, parsed or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The origin is not the name of the ledger's key.
    #[error("the checkpoint's origin is not the key's name")]
    OriginMismatch,
    /// The signed note around it did not open, or could not be made.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A tree head: the ledger's origin, its size and the root of its first `size` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, by convention the name of its key (e.g. `example.com/audit`).
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// `MTH` of the first `size` entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint's note text: `origin\nsize\nbase64(root)\n`.
    ///
    /// The text is only a checkpoint when the origin is non-empty and holds no control
    /// character; [`Checkpoint::sign`] checks that.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a checkpoint's text. Strict about the three lines the specification fixes
    /// (a non-empty origin, a decimal size without leading zeros, a 32-byte root in padded
    /// standard base64); extension lines after them must be non-empty and are ignored.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`].
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed(
            "the text does not end in a newline",
        ))?;
        if body.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(CheckpointError::Malformed("a control character"));
        }
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("an empty origin"));
        }
        if lines.any(str::is_empty) {
            return Err(CheckpointError::Malformed("an empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
        })
    }

    /// The signed checkpoint: its text as a note signed by `signer`, which must be named after
    /// the origin (so that [`Checkpoint::open`] accepts it).
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`] when the signer's name is not the origin,
    /// [`CheckpointError::Malformed`] when the origin cannot be a checkpoint's,
    /// [`CheckpointError::Note`] when signing fails.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        if self.origin != signer.name() {
            return Err(CheckpointError::OriginMismatch);
        }
        // A key name is a valid origin, so the text is a checkpoint; parse as a guard anyway.
        let text = self.to_text();
        Self::parse(&text)?;
        Ok(signer.sign(&text)?)
    }

    /// Opens a signed checkpoint: a signature by `verifier` must verify (others are ignored)
    /// and the origin must be the verifier's name.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] when the note does not open,
    /// [`CheckpointError::Malformed`] when its text is not a checkpoint,
    /// [`CheckpointError::OriginMismatch`] when it is another log's.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, CheckpointError> {
        let checkpoint = Self::parse(verifier.open(note)?)?;
        if checkpoint.origin != verifier.name() {
            return Err(CheckpointError::OriginMismatch);
        }
        Ok(checkpoint)
    }
}

/// A tree size: ASCII digits, no sign, no leading zero unless it is `0`, fits in a u64.
fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::Malformed(
            "the size is not a canonical decimal",
        ));
    }
    line.parse()
        .map_err(|_| CheckpointError::Malformed("the size is too large"))
}

/// A root: padded standard base64 of exactly 32 bytes (the decoder refuses non-canonical
/// trailing bits, so one root has one spelling).
fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    let raw = STANDARD
        .decode(line)
        .map_err(|_| CheckpointError::Malformed("the root is not base64"))?;
    raw.try_into()
        .map_err(|_| CheckpointError::Malformed("the root is not 32 bytes"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::merkle::leaf_hash;
    use ed25519_dalek::SigningKey;

    // golang.org/x/mod sumdb/tlog note_test.go: TestFormatTree / TestParseTree. The sumdb's
    // tree note is a checkpoint whose origin is "go.sum database tree"; its root is
    // RecordHash("hello world"), the RFC 6962 leaf hash.
    const GO_TREE: &str =
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";

    fn go_tree() -> Checkpoint {
        Checkpoint {
            origin: "go.sum database tree".into(),
            size: 123_456_789_012,
            root: leaf_hash(b"hello world"),
        }
    }

    fn signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[42; 32])).unwrap()
    }

    #[test]
    fn the_go_sumdb_tree_formats_and_parses() {
        assert_eq!(go_tree().to_text(), GO_TREE);
        assert_eq!(Checkpoint::parse(GO_TREE), Ok(go_tree()));
        // Extension lines are ignored.
        for tail in ["JOE\n", "JOE\nJACK\n", &"JOE\n".repeat(1000)] {
            assert_eq!(
                Checkpoint::parse(&format!("{GO_TREE}{tail}")),
                Ok(go_tree())
            );
        }
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let root = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";
        let bad = [
            String::new(),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            "o\n1\n".into(),
            format!("o\n\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n00\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n0x1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n".into(),
            format!("o\n1\n{}\n", &root[..root.len() - 1]),
            "o\n1\nTszzRgjTG6xce-z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".into(),
            "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=\n".into(),
            format!("o\n1\n{}\n", STANDARD.encode([0u8; 31])),
            format!("o\n1\n{}\n", STANDARD.encode([0u8; 33])),
            format!("o\n1\n{root}\n\nextension after a blank line\n"),
            format!("o\r\n1\n{root}\n"),
        ];
        for text in &bad {
            assert!(
                matches!(Checkpoint::parse(text), Err(CheckpointError::Malformed(_))),
                "{text:?} parsed"
            );
        }
        let max = format!("o\n{}\n{root}\n", u64::MAX);
        assert_eq!(Checkpoint::parse(&max).unwrap().size, u64::MAX);
        let empty = format!("o\n0\n{root}\n");
        assert_eq!(Checkpoint::parse(&empty).unwrap().size, 0);
    }

    #[test]
    fn a_signed_checkpoint_opens_only_with_its_key_and_origin() {
        let signer = signer("example.com/audit");
        let checkpoint = Checkpoint {
            origin: "example.com/audit".into(),
            size: 7,
            root: leaf_hash(b"seven"),
        };
        let note = checkpoint.sign(&signer).unwrap();
        assert!(note.starts_with(&format!(
            "{}\n\u{2014} example.com/audit ",
            checkpoint.to_text()
        )));
        assert_eq!(
            Checkpoint::open(&note, &signer.verifier()),
            Ok(checkpoint.clone())
        );

        // Another ledger's key, even under the same name, does not open it.
        let other = NoteSigner::new("example.com/audit", SigningKey::from_bytes(&[1; 32])).unwrap();
        assert_eq!(
            Checkpoint::open(&note, &other.verifier()),
            Err(CheckpointError::Note(NoteError::Unverified))
        );
        // A changed size or root breaks the signature.
        let grown = note.replacen("\n7\n", "\n8\n", 1);
        assert_eq!(
            Checkpoint::open(&grown, &signer.verifier()),
            Err(CheckpointError::Note(NoteError::BadSignature))
        );
        // A checkpoint of another origin, signed by a key we trust, is not this ledger's.
        let stranger = Checkpoint {
            origin: "example.com/req".into(),
            ..checkpoint.clone()
        };
        assert_eq!(stranger.sign(&signer), Err(CheckpointError::OriginMismatch));
        let smuggled = signer.sign(&stranger.to_text()).unwrap();
        assert_eq!(
            Checkpoint::open(&smuggled, &signer.verifier()),
            Err(CheckpointError::OriginMismatch)
        );
        // A signed text that is not a checkpoint.
        let prose = signer.sign("example.com/audit\nseven\n").unwrap();
        assert!(matches!(
            Checkpoint::open(&prose, &signer.verifier()),
            Err(CheckpointError::Malformed(_))
        ));
    }

    #[test]
    fn a_cosigned_checkpoint_still_opens() {
        // A witness's signature line (another key) is ignored, before or after ours.
        let log = signer("example.com/auth");
        let witness = NoteSigner::new("witness.example", SigningKey::from_bytes(&[9; 32])).unwrap();
        let checkpoint = Checkpoint {
            origin: "example.com/auth".into(),
            size: 0,
            root: crate::merkle::empty_root(),
        };
        let ours = checkpoint.sign(&log).unwrap();
        let theirs = witness.sign(&checkpoint.to_text()).unwrap();
        let their_line = theirs.rsplit_once("\n\n").unwrap().1;
        let (text, our_line) = ours.rsplit_once("\n\n").unwrap();
        for note in [
            format!("{text}\n\n{our_line}{their_line}"),
            format!("{text}\n\n{their_line}{our_line}"),
        ] {
            assert_eq!(
                Checkpoint::open(&note, &log.verifier()),
                Ok(checkpoint.clone())
            );
        }
    }
}
