//! End to end: the real `portcullis-wallet device` binary, driven by [`Client`] over a pty
//! pair made by `socat` (the way a USB-serial wallet appears) and over TCP, and attacked
//! with raw malformed frames that must each get their error and change nothing.
//!
//! `scripts/test` installs Debian's socat and exports `PORTCULLIS_TEST_SOCAT`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_core::eth::{self, WalletSignature, delegation::Delegation, presence};
use portcullis_wallet::codec::{
    self, Decoded, DeviceError, ErrorCode, MAX_FRAME, Reader, Request, Response, State,
};
use portcullis_wallet::{Client, ClientError};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis-wallet");
const KEY_HEX: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const PIN: &str = "482913";
/// eth-account's signature of "hello world" by the key above (core's vector).
const HELLO: &str = "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf15fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b";
const FRAME_TIMEOUT_MS: u64 = 300;

/// Kills its child when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require_env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run this through scripts/test"))
}

/// A wallet state file made by `portcullis-wallet init` (cheap KDF costs: tests try many PINs).
fn init(dir: &Path) -> PathBuf {
    let state = dir.join("wallet.json");
    let out = Command::new(BIN)
        .args(["init", "--state"])
        .arg(&state)
        .args(["--pin-env", "WALLET_PIN", "--import-key-env", "WALLET_KEY"])
        .args(["--kdf-memory-kib", "256", "--kdf-passes", "1"])
        .env("WALLET_PIN", PIN)
        .env("WALLET_KEY", KEY_HEX)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), ADDRESS);
    state
}

fn device(state: &Path, line: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["device", "--state"])
        .arg(state)
        .args(line)
        .args(["--frame-timeout-ms", &FRAME_TIMEOUT_MS.to_string()]);
    command
}

/// A pty pair: (the device's end, the host's end), and socat holding them.
fn pty_pair(dir: &Path) -> (PathBuf, PathBuf, Killed) {
    let (dev, host) = (dir.join("dev"), dir.join("host"));
    let socat = Command::new(require_env("PORTCULLIS_TEST_SOCAT"))
        .arg("-d")
        .arg(format!("pty,raw,echo=0,link={}", dev.display()))
        .arg(format!("pty,raw,echo=0,link={}", host.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socat = Killed(socat);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(dev.exists() && host.exists()) {
        assert!(Instant::now() < deadline, "socat made no ptys");
        std::thread::sleep(Duration::from_millis(20));
    }
    (dev, host, socat)
}

/// Retries until the device answers (it may still be opening its end).
fn connect(open: impl Fn() -> Result<Client, ClientError>) -> Client {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(mut client) = open()
            && client.get_info().is_ok()
        {
            return client;
        }
        assert!(Instant::now() < deadline, "the wallet never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What every transport must do for a well-behaved host.
fn happy_path(client: &mut Client) {
    let info = client.get_info().unwrap();
    assert_eq!(
        (info.protocol, info.state, info.tries_left),
        (1, State::Locked, 10)
    );
    assert!(info.firmware.starts_with("portcullis-wallet "));
    assert!(matches!(
        client.get_address(),
        Err(ClientError::Refused {
            code: ErrorCode::Locked,
            tries_left: 10
        })
    ));
    assert!(matches!(
        client.unlock(b"000000"),
        Err(ClientError::Refused {
            code: ErrorCode::WrongPin,
            tries_left: 9
        })
    ));
    client.unlock(PIN.as_bytes()).unwrap();
    assert_eq!(client.get_info().unwrap().state, State::Unlocked);
    let address = client.get_address().unwrap();
    assert_eq!(eth::checksummed(&address), ADDRESS);
    assert_eq!(
        client.sign_message("hello world").unwrap().to_string(),
        HELLO
    );

    let delegation = Delegation {
        domain: "auth.example.com".into(),
        wallet: address,
        session_key: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        nonce: "8f2kq9r4x1m7".into(),
        issued_at: 1_796_490_000,
        expires_at: 1_796_493_600,
    };
    let text = delegation.message().unwrap();
    let signed = client.sign_delegation(&text).unwrap();
    signed.verify(text.as_bytes(), address).unwrap();
    assert!(matches!(
        client.sign_delegation("Send 1 ETH"),
        Err(ClientError::Refused {
            code: ErrorCode::RefusedText,
            ..
        })
    ));
    let text = presence::message("auth.example.com", "0193a1c2", "3q2x");
    let signed: WalletSignature = client.sign_presence(&text).unwrap();
    presence::verify("auth.example.com", "0193a1c2", "3q2x", &signed, address).unwrap();

    client.lock().unwrap();
    assert_eq!(client.get_info().unwrap().state, State::Locked);
}

fn send(wire: &mut impl Write, bytes: &[u8]) {
    wire.write_all(bytes).unwrap();
    wire.flush().unwrap();
}

/// Reads one response frame from a raw wire (whose reads time out).
fn answer(wire: &mut impl Read, reader: &mut Reader) -> (u8, Vec<u8>) {
    loop {
        if let Decoded::Frame { frame, used } = reader.decode() {
            let got = (frame.kind, frame.payload.to_vec());
            reader.consume(used);
            return got;
        }
        assert!(
            matches!(reader.decode(), Decoded::Incomplete),
            "a broken answer"
        );
        let n = wire.read(reader.space()).expect("an answer in time");
        assert!(n > 0, "the wallet hung up");
        reader.filled(n);
    }
}

fn refused(wire: &mut impl Read, reader: &mut Reader) -> ErrorCode {
    let (kind, payload) = answer(wire, reader);
    let frame = codec::Frame {
        kind,
        payload: &payload,
    };
    match Response::from_frame(&frame).unwrap() {
        Response::Error(DeviceError { code, .. }) => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn frame(request: Request<'_>) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = request.encode(&mut out).unwrap();
    out[..n].to_vec()
}

/// Bad input, each answered with its error, and nothing changed: not the state file, not
/// the counter, not the session (still locked).
fn malformed_frames_change_nothing(wire: &mut (impl Read + Write), state: &Path) {
    let before = std::fs::read(state).unwrap();
    let mut reader = Reader::new();

    send(wire, b"\x00\x01garbage that is no frame");
    assert_eq!(refused(wire, &mut reader), ErrorCode::BadFrame);

    let mut bad_crc = frame(Request::Unlock {
        pin: PIN.as_bytes(),
    });
    *bad_crc.last_mut().unwrap() ^= 0x5a;
    send(wire, &bad_crc);
    assert_eq!(refused(wire, &mut reader), ErrorCode::BadCrc);

    let mut wrong_version = frame(Request::GetAddress);
    wrong_version[2] = 9;
    send(wire, &wrong_version);
    assert_eq!(refused(wire, &mut reader), ErrorCode::UnsupportedVersion);

    send(wire, &[0xA5, 0x5A, 0x01, 0x04, 0xFF, 0xFF]);
    assert_eq!(refused(wire, &mut reader), ErrorCode::TooLong);

    let mut unknown = [0u8; 16];
    let n = codec::encode(0x42, &[], &mut unknown).unwrap();
    send(wire, &unknown[..n]);
    assert_eq!(refused(wire, &mut reader), ErrorCode::UnknownType);

    let mut short_pin = [0u8; 16];
    let n = codec::encode(codec::kind::UNLOCK, &[b"12"], &mut short_pin).unwrap();
    send(wire, &short_pin[..n]);
    assert_eq!(refused(wire, &mut reader), ErrorCode::BadFrame);

    // Truncated: half a frame, then silence past the frame timeout.
    let truncated = frame(Request::Unlock {
        pin: PIN.as_bytes(),
    });
    send(wire, &truncated[..truncated.len() / 2]);
    std::thread::sleep(Duration::from_millis(FRAME_TIMEOUT_MS * 3));
    assert_eq!(refused(wire, &mut reader), ErrorCode::BadFrame);

    // The line still works, and nothing moved.
    send(wire, &frame(Request::GetInfo));
    let (kind, payload) = answer(wire, &mut reader);
    assert_eq!(kind, codec::kind::INFO);
    assert_eq!(&payload[..3], &[1, State::Locked as u8, 10]);
    send(wire, &frame(Request::GetAddress));
    assert_eq!(refused(wire, &mut reader), ErrorCode::Locked);
    assert_eq!(std::fs::read(state).unwrap(), before);
}

#[test]
fn over_a_serial_pty_pair() {
    let dir = tempfile::tempdir().unwrap();
    let state = init(dir.path());
    let (dev, host, _socat) = pty_pair(dir.path());
    let dev_arg = dev.to_str().unwrap();
    let _device = Killed(
        device(&state, &["--serial", dev_arg])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut client = connect(|| Client::serial(&host, Duration::from_secs(5)));
    happy_path(&mut client);
    drop(client);

    let mut raw = serialport::new(host.to_str().unwrap(), 115_200)
        .timeout(Duration::from_secs(5))
        .open()
        .unwrap();
    // The counter reset by the right PIN in happy_path.
    malformed_frames_change_nothing(&mut raw, &state);
}

#[test]
fn over_tcp_and_ten_wrong_pins_wipe() {
    let dir = tempfile::tempdir().unwrap();
    let state = init(dir.path());
    let mut child = device(&state, &["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _device = Killed(child);
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    let mut client = connect(|| Client::tcp(addr.as_str(), Duration::from_secs(5)));
    happy_path(&mut client);

    let mut raw = TcpStream::connect(addr.as_str()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    malformed_frames_change_nothing(&mut raw, &state);

    // A second connection has its own session: the first's unlock does not carry over.
    client.unlock(PIN.as_bytes()).unwrap();
    let mut other = Client::tcp(addr.as_str(), Duration::from_secs(5)).unwrap();
    assert_eq!(other.get_info().unwrap().state, State::Locked);

    for left in (1..=9).rev() {
        assert!(matches!(
            other.unlock(b"999999"),
            Err(ClientError::Refused { code: ErrorCode::WrongPin, tries_left }) if tries_left == left
        ));
    }
    assert!(matches!(
        other.unlock(b"999999"),
        Err(ClientError::Refused {
            code: ErrorCode::Wiped,
            tries_left: 0
        })
    ));
    // The eleventh try, with the right PIN, and the first connection's unlock: wiped.
    assert!(matches!(
        other.unlock(PIN.as_bytes()),
        Err(ClientError::Refused {
            code: ErrorCode::Wiped,
            ..
        })
    ));
    assert!(matches!(
        client.sign_message("hello world"),
        Err(ClientError::Refused {
            code: ErrorCode::Wiped,
            ..
        })
    ));
    assert_eq!(client.get_info().unwrap().state, State::Wiped);
    let file = std::fs::read_to_string(&state).unwrap();
    assert!(!file.contains("ciphertext"), "{file}");
}
