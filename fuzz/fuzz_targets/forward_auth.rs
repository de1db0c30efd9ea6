//! Structure-aware: forward-auth rules, the proxy's headers and what the token proved, built
//! by the fuzzer, through the steps of `GET /v1/forward-auth`. See
//! `portcullis_fuzz::forward_auth` for what is asserted. Seeds: `fuzz/corpus/forward_auth/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::forward_auth::ForwardAuthInput;

fuzz_target!(|input: ForwardAuthInput| portcullis_fuzz::forward_auth::check(&input));
