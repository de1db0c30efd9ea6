//! Arbitrary bytes as a wallet's serial line: `portcullis_wallet::codec` (built without its
//! `wallet` feature: the `no_std` codec alone) must never panic, never loop, and agree with
//! itself. Seeds: `fuzz/corpus/wallet_frame/`, dictionary: `fuzz/dicts/wallet_frame.dict`.
//!
//! What must hold for any input:
//! - [`decode`] answers `Incomplete`, a frame that used at most the input, or an error that
//!   skips at least one byte and at most the input;
//! - a decoded request or response encodes back to exactly the bytes it came from (one
//!   spelling per message, so the firmware and the host cannot disagree on a frame);
//! - a [`Reader`] fed the input in the chunk sizes the input's first byte picks, draining
//!   after each chunk, ends having consumed everything but an incomplete tail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_wallet::codec::{Decoded, MAX_FRAME, Reader, Request, Response, decode};

fn check_frame(buf: &[u8]) -> usize {
    match decode(buf) {
        Decoded::Incomplete => 0,
        Decoded::Error { skip, .. } => {
            assert!(
                skip >= 1 && skip <= buf.len(),
                "skip {skip} of {}",
                buf.len()
            );
            skip
        }
        Decoded::Frame { frame, used } => {
            assert!(used <= buf.len());
            let mut out = [0u8; MAX_FRAME];
            if let Ok(request) = Request::from_frame(&frame) {
                let n = request.encode(&mut out).expect("a decoded request encodes");
                assert_eq!(
                    &out[..n],
                    &buf[..used],
                    "{request:?} re-encodes differently"
                );
            }
            if let Ok(response) = Response::from_frame(&frame) {
                let n = response
                    .encode(&mut out)
                    .expect("a decoded response encodes");
                assert_eq!(
                    &out[..n],
                    &buf[..used],
                    "{response:?} re-encodes differently"
                );
            }
            used
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Every suffix the stream decoder would look at, straight.
    let mut rest = data;
    loop {
        let step = check_frame(rest);
        if step == 0 {
            break;
        }
        rest = &rest[step..];
    }

    // The same stream through the fixed buffer, in chunks.
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut reader = Reader::new();
    let mut fed = 0;
    let mut consumed = 0;
    while fed < data.len() {
        let end = (fed + chunk).min(data.len());
        fed += reader.push(&data[fed..end]);
        loop {
            let step = match reader.decode() {
                Decoded::Incomplete => break,
                Decoded::Frame { used, .. } => used,
                Decoded::Error { skip, .. } => skip,
            };
            reader.consume(step);
            consumed += step;
        }
        assert!(
            !reader.space().is_empty(),
            "a full buffer that decodes to nothing"
        );
    }
    assert_eq!(consumed + reader.pending(), data.len());
});
