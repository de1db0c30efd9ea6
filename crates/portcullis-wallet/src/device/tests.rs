use super::*;
use portcullis_core::eth::delegation::{Delegation, Expected};
use portcullis_core::eth::{WalletSignature, presence};

/// Hardhat's account #0, a key every Ethereum tool knows.
const KEY_HEX: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const PIN: &[u8] = b"482913";
/// Cheap costs: these tests try many PINs.
const FAST: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn known_key() -> SigningKey {
    SigningKey::from_slice(&hex::decode(KEY_HEX).unwrap()).unwrap()
}

fn wallet() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let address = Device::create(&path, PIN, FAST, Some(known_key())).unwrap();
    assert_eq!(eth::checksummed(&address), ADDRESS);
    (dir, path)
}

fn error(code: ErrorCode, tries_left: u8) -> Response<'static> {
    Response::Error(DeviceError { code, tries_left })
}

fn unlocked(path: &Path) -> (Device, Session) {
    let mut device = Device::open(path).unwrap();
    let mut session = Session::new();
    assert_eq!(
        device.handle(&mut session, Request::Unlock { pin: PIN }),
        Response::Ok
    );
    (device, session)
}

fn signature(response: Response<'_>) -> WalletSignature {
    match response {
        Response::Signature(bytes) => WalletSignature::from_bytes(bytes),
        other => panic!("expected a signature, got {other:?}"),
    }
}

#[test]
fn wrong_pins_count_down_and_persist_across_a_restart() {
    let (_dir, path) = wallet();
    let mut device = Device::open(&path).unwrap();
    let mut session = Session::new();
    for left in [9, 8, 7] {
        let answer = device.handle(&mut session, Request::Unlock { pin: b"0000" });
        assert_eq!(answer, error(ErrorCode::WrongPin, left));
    }
    assert_eq!(store::load(&path).unwrap().failures, 3);
    drop(device);
    let mut device = Device::open(&path).unwrap();
    let mut session = Session::new();
    assert_eq!(device.info(&session).tries_left, 7);
    assert_eq!(device.info(&session).state, State::Locked);
    let answer = device.handle(&mut session, Request::Unlock { pin: b"1111" });
    assert_eq!(answer, error(ErrorCode::WrongPin, 6));
    assert_eq!(
        device.handle(&mut session, Request::GetAddress),
        error(ErrorCode::Locked, 6)
    );
}

#[test]
fn a_right_pin_resets_the_counter() {
    let (_dir, path) = wallet();
    let mut device = Device::open(&path).unwrap();
    let mut session = Session::new();
    for _ in 0..9 {
        device.handle(&mut session, Request::Unlock { pin: b"0000" });
    }
    assert_eq!(device.info(&session).tries_left, 1);
    assert_eq!(
        device.handle(&mut session, Request::Unlock { pin: PIN }),
        Response::Ok
    );
    assert_eq!(device.info(&session).tries_left, 10);
    assert_eq!(device.info(&session).state, State::Unlocked);
    assert_eq!(store::load(&path).unwrap().failures, 0);
    // A wrong PIN on an unlocked session locks it again (and counts).
    let answer = device.handle(&mut session, Request::Unlock { pin: b"0000" });
    assert_eq!(answer, error(ErrorCode::WrongPin, 9));
    assert!(!session.is_unlocked());
}

#[test]
fn the_tenth_wrong_pin_wipes_and_the_eleventh_try_answers_wiped() {
    let (_dir, path) = wallet();
    let mut device = Device::open(&path).unwrap();
    let mut session = Session::new();
    for left in (1..=9).rev() {
        let answer = device.handle(&mut session, Request::Unlock { pin: b"0000" });
        assert_eq!(answer, error(ErrorCode::WrongPin, left));
    }
    let tenth = device.handle(&mut session, Request::Unlock { pin: b"0000" });
    assert_eq!(tenth, error(ErrorCode::Wiped, 0));
    let state = store::load(&path).unwrap();
    assert_eq!(state.key, None);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(!file.contains("ciphertext"), "{file}");
    // The eleventh, even with the right PIN, and after a restart: wiped.
    let mut device = Device::open(&path).unwrap();
    let eleventh = device.handle(&mut session, Request::Unlock { pin: PIN });
    assert_eq!(eleventh, error(ErrorCode::Wiped, 0));
    assert_eq!(device.info(&session).state, State::Wiped);
    for request in [
        Request::GetAddress,
        Request::Wipe,
        Request::SignMessage { text: "x" },
    ] {
        assert_eq!(
            device.handle(&mut session, request),
            error(ErrorCode::Wiped, 0)
        );
    }
}

#[test]
fn a_crash_between_the_tenth_count_and_the_wipe_wipes_on_open() {
    let (_dir, path) = wallet();
    let mut state = store::load(&path).unwrap();
    state.failures = MAX_FAILURES;
    store::save(&path, &state).unwrap();
    let device = Device::open(&path).unwrap();
    assert_eq!(device.info(&Session::new()).state, State::Wiped);
    assert_eq!(store::load(&path).unwrap().key, None);
}

#[test]
fn the_sealed_file_does_not_hold_the_key() {
    let (_dir, path) = wallet();
    let bytes = std::fs::read(&path).unwrap();
    let raw = hex::decode(KEY_HEX).unwrap();
    assert!(!bytes.windows(32).any(|w| w == raw.as_slice()));
    let text = String::from_utf8(bytes).unwrap().to_ascii_lowercase();
    assert!(!text.contains(KEY_HEX));
    assert!(!text.contains(&KEY_HEX[..16]));
    // Nor does any Debug of what holds it.
    let (device, session) = unlocked(&path);
    let shown = format!("{device:?} {session:?}");
    assert!(
        !shown.to_ascii_lowercase().contains(&KEY_HEX[..16]),
        "{shown}"
    );
    assert!(!shown.contains(&store::load(&path).unwrap().key.unwrap().ciphertext));
}

#[test]
fn init_refuses_to_overwrite_and_short_pins() {
    let (dir, path) = wallet();
    assert!(matches!(
        Device::create(&path, PIN, FAST, None),
        Err(InitError::Exists(_))
    ));
    let other = dir.path().join("other.json");
    assert!(matches!(
        Device::create(&other, b"123", FAST, None),
        Err(InitError::PinLength)
    ));
    // A fresh random key opens with its PIN and has the address init printed.
    let address = Device::create(&other, PIN, FAST, None).unwrap();
    let (mut device, mut session) = unlocked(&other);
    assert_eq!(
        device.handle(&mut session, Request::GetAddress),
        Response::Address(address.into_array())
    );
}

#[test]
fn a_delegation_signed_by_sign_delegation_verifies() {
    let (_dir, path) = wallet();
    let (mut device, mut session) = unlocked(&path);
    let wallet = eth::parse_address(ADDRESS).unwrap();
    let delegation = Delegation {
        domain: "auth.example.com".into(),
        wallet,
        session_key: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        nonce: "8f2kq9r4x1m7".into(),
        issued_at: 1_796_490_000,
        expires_at: 1_796_493_600,
    };
    let text = delegation.message().unwrap();
    let signed = signature(device.handle(&mut session, Request::SignDelegation { text: &text }));
    signed.verify(text.as_bytes(), wallet).unwrap();
    let expected = Expected {
        domain: "auth.example.com",
        wallet,
        session_key: &delegation.session_key,
        nonce: &delegation.nonce,
        skew: 60,
    };
    assert_eq!(
        Delegation::verify(&text, &signed, &expected, 1_796_490_100).unwrap(),
        delegation
    );
    // The same text for another wallet, a bent one, and a SIWE text are refused.
    let foreign = Delegation {
        wallet: Address::repeat_byte(0x11),
        ..delegation
    };
    for text in [
        foreign.message().unwrap(),
        format!("{text}\n"),
        "example.com wants you to sign in with your Ethereum account:".into(),
    ] {
        let answer = device.handle(&mut session, Request::SignDelegation { text: &text });
        assert_eq!(answer, error(ErrorCode::RefusedText, 10), "{text}");
    }
}

#[test]
fn sign_presence_signs_presence_texts_only() {
    let (_dir, path) = wallet();
    let (mut device, mut session) = unlocked(&path);
    let wallet = eth::parse_address(ADDRESS).unwrap();
    let text = presence::message("auth.example.com", "0193a1c2", "3q2x");
    let signed = signature(device.handle(&mut session, Request::SignPresence { text: &text }));
    presence::verify("auth.example.com", "0193a1c2", "3q2x", &signed, wallet).unwrap();
    for text in [
        "Transfer 10 ETH to 0x0000000000000000000000000000000000000000",
        "Portcullis presence\nDomain: a\nSession: b",
        "Portcullis presence\nDomain: a\nSession: b\nChallenge: ",
        "Portcullis presence\nDomain: a\nSession: b\nChallenge: c\nExtra: d",
        "Portcullis presence\r\nDomain: a\nSession: b\nChallenge: c",
    ] {
        let answer = device.handle(&mut session, Request::SignPresence { text });
        assert_eq!(answer, error(ErrorCode::RefusedText, 10), "{text:?}");
    }
    // SignMessage will not sign a presence text (nor a delegation) either.
    let answer = device.handle(&mut session, Request::SignMessage { text: &text });
    assert_eq!(answer, error(ErrorCode::RefusedText, 10));
}

#[test]
fn sign_message_gives_the_eip191_signature_other_wallets_give() {
    let (_dir, path) = wallet();
    let (mut device, mut session) = unlocked(&path);
    // eth-account's `Account.from_key(KEY).sign_message(encode_defunct(text="hello world"))`
    // (core's vector).
    let signed = signature(device.handle(
        &mut session,
        Request::SignMessage {
            text: "hello world",
        },
    ));
    assert_eq!(
        signed.to_string(),
        "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf15fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b"
    );
}

#[test]
fn requests_that_need_an_unlock_answer_locked_lock_ends_it_and_wipe_destroys_the_key() {
    let (_dir, path) = wallet();
    let mut device = Device::open(&path).unwrap();
    let mut session = Session::new();
    for request in [
        Request::GetAddress,
        Request::SignMessage { text: "x" },
        Request::Wipe,
    ] {
        assert_eq!(
            device.handle(&mut session, request),
            error(ErrorCode::Locked, 10)
        );
    }
    assert!(store::load(&path).unwrap().key.is_some());
    assert_eq!(
        device.handle(&mut session, Request::Unlock { pin: PIN }),
        Response::Ok
    );
    assert_eq!(device.handle(&mut session, Request::Wipe), Response::Ok);
    assert_eq!(store::load(&path).unwrap().key, None);
    assert_eq!(
        device.handle(&mut session, Request::GetAddress),
        error(ErrorCode::Wiped, 0)
    );
}

#[test]
fn a_missing_file_is_an_uninitialised_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let mut device = Device::open(&dir.path().join("none.json")).unwrap();
    let mut session = Session::new();
    assert_eq!(device.info(&session).state, State::Uninitialised);
    let answer = device.handle(&mut session, Request::Unlock { pin: PIN });
    assert_eq!(answer, error(ErrorCode::Uninitialised, 10));
    assert!(!dir.path().join("none.json").exists());
}
