//! Arbitrary bytes as the JSON body of `POST /v1/sessions` and of an answer to a login (or
//! step-up) challenge, read as the routes read them, then through the pure checks of an
//! accepted body: the request's shape, the e-mail and code parsers (also the challenge id
//! and `factor` parsers). See `portcullis_fuzz::login` for what is asserted. Seeds:
//! `fuzz/corpus/login_challenge/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::login::check(data));
