use super::*;

const ADDRESS: [u8; 20] = [0x11; 20];
const SIGNATURE: [u8; 65] = [0x22; 65];

fn requests() -> [Request<'static>; 8] {
    [
        Request::GetInfo,
        Request::Unlock { pin: b"123456" },
        Request::GetAddress,
        Request::SignMessage {
            text: "example.com wants you to sign in",
        },
        Request::SignDelegation {
            text: "Portcullis session key delegation\n…",
        },
        Request::SignPresence {
            text: "Portcullis presence\nDomain: x",
        },
        Request::Wipe,
        Request::Lock,
    ]
}

fn responses() -> [Response<'static>; 5] {
    [
        Response::Info(Info {
            protocol: VERSION,
            state: State::Locked,
            tries_left: 7,
            firmware: "portcullis-wallet 0.1.0",
        }),
        Response::Address(ADDRESS),
        Response::Signature(SIGNATURE),
        Response::Ok,
        Response::Error(DeviceError {
            code: ErrorCode::WrongPin,
            tries_left: 3,
        }),
    ]
}

fn frame_of(request: &Request<'_>) -> ([u8; MAX_FRAME], usize) {
    let mut out = [0u8; MAX_FRAME];
    let n = request.encode(&mut out).unwrap();
    (out, n)
}

fn only_frame(buf: &[u8]) -> Frame<'_> {
    match decode(buf) {
        Decoded::Frame { frame, used } => {
            assert_eq!(used, buf.len());
            frame
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn every_request_round_trips() {
    for request in requests() {
        let (out, n) = frame_of(&request);
        let frame = only_frame(&out[..n]);
        assert_eq!(Request::from_frame(&frame), Ok(request));
    }
}

#[test]
fn every_response_round_trips() {
    for response in responses() {
        let mut out = [0u8; MAX_FRAME];
        let n = response.encode(&mut out).unwrap();
        let frame = only_frame(&out[..n]);
        assert_eq!(Response::from_frame(&frame), Ok(response));
    }
}

#[test]
fn the_layout_is_the_documented_one() {
    // PROTOCOL.md's worked example: GetInfo.
    let (out, n) = frame_of(&Request::GetInfo);
    let crc = CRC32.checksum(&[0x01, 0x01, 0x00, 0x00]).to_be_bytes();
    assert_eq!(
        &out[..n],
        &[
            0xA5, 0x5A, 0x01, 0x01, 0x00, 0x00, crc[0], crc[1], crc[2], crc[3]
        ]
    );
    assert_eq!(
        crc,
        [0x98, 0x3A, 0xD2, 0x4E],
        "the check value in PROTOCOL.md"
    );
}

#[test]
fn a_truncated_frame_is_incomplete_at_every_length() {
    for request in requests().into_iter().chain([Request::SignMessage {
        text: &"x".repeat(MAX_PAYLOAD),
    }]) {
        let (out, n) = frame_of(&request);
        for cut in 0..n {
            assert_eq!(
                decode(&out[..cut]),
                Decoded::Incomplete,
                "{request:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn a_wrong_crc_is_refused_and_skipped() {
    let (mut out, n) = frame_of(&Request::SignMessage { text: "hello" });
    out[n - 1] ^= 0x01;
    assert_eq!(
        decode(&out[..n]),
        Decoded::Error {
            error: FrameError::BadCrc,
            skip: n
        }
    );
    // A flipped payload bit is caught the same way.
    let (mut out, n) = frame_of(&Request::SignMessage { text: "hello" });
    out[HEADER_LEN] ^= 0x20;
    assert!(matches!(
        decode(&out[..n]),
        Decoded::Error {
            error: FrameError::BadCrc,
            ..
        }
    ));
}

#[test]
fn wrong_magic_version_and_length_are_refused() {
    let (out, n) = frame_of(&Request::GetInfo);
    let mut bad = out;
    bad[1] = 0x00;
    assert!(matches!(
        decode(&bad[..n]),
        Decoded::Error {
            error: FrameError::BadMagic,
            ..
        }
    ));
    let mut bad = out;
    bad[2] = VERSION + 1;
    // Known as soon as the version byte arrives.
    assert!(matches!(
        decode(&bad[..3]),
        Decoded::Error {
            error: FrameError::UnsupportedVersion,
            ..
        }
    ));
    let mut bad = out;
    let [hi, lo] = u16::try_from(MAX_PAYLOAD + 1).unwrap().to_be_bytes();
    bad[4] = hi;
    bad[5] = lo;
    assert!(matches!(
        decode(&bad[..HEADER_LEN]),
        Decoded::Error {
            error: FrameError::TooLong,
            ..
        }
    ));
    let long = [b'x'; MAX_PAYLOAD + 1];
    let mut big = [0u8; MAX_FRAME + 1];
    assert_eq!(
        encode(kind::SIGN_MESSAGE, &[&long], &mut big),
        Err(EncodeError::TooLong)
    );
    assert_eq!(
        Request::GetInfo.encode(&mut [0u8; 9]),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn unknown_types_and_bad_payloads_are_refused_after_a_good_crc() {
    let mut out = [0u8; 128];
    let n = encode(0x42, &[], &mut out).unwrap();
    let frame = only_frame(&out[..n]);
    assert_eq!(Request::from_frame(&frame), Err(MessageError::UnknownType));
    // A response type is no request, and a request type no response.
    let n = encode(kind::OK, &[], &mut out).unwrap();
    assert_eq!(
        Request::from_frame(&only_frame(&out[..n])),
        Err(MessageError::UnknownType)
    );
    let n = encode(kind::GET_INFO, &[], &mut out).unwrap();
    assert_eq!(
        Response::from_frame(&only_frame(&out[..n])),
        Err(MessageError::UnknownType)
    );
    for (kind, payload) in [
        (kind::GET_INFO, &b"x"[..]),
        (kind::UNLOCK, b"123"),
        (kind::UNLOCK, &[b'1'; 65]),
        (kind::GET_ADDRESS, b"x"),
        (kind::SIGN_MESSAGE, b"\xff\xfe"),
        (kind::WIPE, b"x"),
        (kind::LOCK, b"x"),
    ] {
        let n = encode(kind, &[payload], &mut out).unwrap();
        assert_eq!(
            Request::from_frame(&only_frame(&out[..n])),
            Err(MessageError::Malformed),
            "type {kind:#x}"
        );
    }
    for (kind, payload) in [
        (kind::ADDRESS, &[0u8; 19][..]),
        (kind::SIGNATURE, &[0u8; 64]),
        (kind::OK, b"x"),
        (kind::ERROR, &[99, 0]),
        (kind::ERROR, &[1]),
        (kind::INFO, &[1, 9, 10]),
        (kind::INFO, &[1, 1]),
    ] {
        let n = encode(kind, &[payload], &mut out).unwrap();
        assert_eq!(
            Response::from_frame(&only_frame(&out[..n])),
            Err(MessageError::Malformed),
            "type {kind:#x}"
        );
    }
}

#[test]
fn the_reader_resyncs_to_the_next_frame_after_garbage_and_a_broken_frame() {
    let mut reader = Reader::new();
    let (good, n) = frame_of(&Request::GetAddress);
    let (mut broken, m) = frame_of(&Request::SignMessage { text: "abc" });
    broken[m - 2] ^= 0xff;
    reader.push(b"noise\xA5");
    reader.push(&broken[..m]);
    reader.push(&good[..n]);
    let mut seen = Vec::new();
    loop {
        let step = match reader.decode() {
            Decoded::Incomplete => break,
            Decoded::Frame { frame, used } => {
                assert_eq!(Request::from_frame(&frame), Ok(Request::GetAddress));
                seen.push(Ok(frame.kind));
                used
            }
            Decoded::Error { error, skip } => {
                seen.push(Err(error));
                skip
            }
        };
        reader.consume(step);
    }
    assert_eq!(
        seen,
        [
            Err(FrameError::BadMagic), // "noise" and the lone A5: one burst, one error
            Err(FrameError::BadCrc),   // the broken frame
            Ok(kind::GET_ADDRESS),     // found again
        ]
    );
    assert_eq!(reader.pending(), 0);
}

#[test]
fn a_truncated_frame_then_a_good_one_loses_only_the_truncated_one() {
    // The host gave up on a frame half-way (its line dropped) and sends the next one: the
    // second frame's bytes first fill the first one's length, its CRC fails, and the
    // decoder finds the second frame's magic inside what it skipped.
    let mut reader = Reader::new();
    let (first, n) = frame_of(&Request::SignMessage {
        text: "a long enough text",
    });
    let (second, m) = frame_of(&Request::GetInfo);
    reader.push(&first[..n - 8]);
    reader.push(&second[..m]);
    reader.push(&[0u8; 8]);
    let mut frames = 0;
    let mut errors = 0;
    loop {
        let step = match reader.decode() {
            Decoded::Incomplete => break,
            Decoded::Frame { frame, used } => {
                assert_eq!(Request::from_frame(&frame), Ok(Request::GetInfo));
                frames += 1;
                used
            }
            Decoded::Error { skip, .. } => {
                errors += 1;
                skip
            }
        };
        reader.consume(step);
    }
    assert_eq!(frames, 1);
    assert!(errors >= 1);
}

#[test]
fn a_full_reader_always_decodes_to_something() {
    // Worst case for the buffer: every byte a magic start, so nothing is ever skipped early.
    let mut reader = Reader::new();
    while reader.push(&MAGIC) > 0 {}
    assert_eq!(reader.pending(), MAX_FRAME);
    assert!(reader.space().is_empty());
    assert_ne!(reader.decode(), Decoded::Incomplete);
}

#[test]
fn decode_never_panics_on_short_pseudo_random_inputs() {
    // A cheap sweep here; the fuzz target `wallet_frame` does the real search.
    let mut x: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        let mut buf = [0u8; 24];
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = (x % 24) as usize;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (x.rotate_left(i as u32) & 0xff) as u8;
        }
        buf[0] = MAGIC[0];
        buf[1] = MAGIC[1];
        buf[2] = VERSION;
        match decode(&buf[..len]) {
            Decoded::Error { skip, .. } => assert!(skip >= 1 && skip <= len.max(1)),
            Decoded::Frame { used, .. } => assert!(used <= len),
            Decoded::Incomplete => {}
        }
    }
}

#[test]
fn debug_never_shows_a_pin() {
    let shown = format!("{:?}", Request::Unlock { pin: b"918273" });
    assert!(!shown.contains("918273"), "{shown}");
    let (out, n) = frame_of(&Request::Unlock { pin: b"918273" });
    let shown = format!("{:?}", only_frame(&out[..n]));
    assert!(!shown.contains("57, 49"), "{shown}"); // "91" as bytes
}
