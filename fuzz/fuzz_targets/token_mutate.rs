//! Structure-aware: a valid (or deliberately bad) signed token from the fixture, edited by the
//! fuzzer's input (byte edits, header and claim edits on the decoded JSON, segment swaps, and
//! re-signing with the real key, a foreign key, HMAC keyed with the public key, or nothing),
//! then checked like `token_verify`. Random bytes rarely get past base64 and never past the
//! signature; this target reaches the header, claim and time checks behind a good signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::Mutation;

fuzz_target!(
    init: {
        portcullis_fuzz::fixture();
    },
    |mutation: Mutation| {
        let token = mutation.apply(portcullis_fuzz::fixture());
        portcullis_fuzz::check(&token);
    }
);
