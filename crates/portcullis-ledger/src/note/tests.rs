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
