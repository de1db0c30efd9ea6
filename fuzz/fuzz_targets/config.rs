//! Arbitrary text as the TOML configuration file; what loads must print and load back. See
//! `portcullis_fuzz::config`. Seeds: `fuzz/corpus/config/`, dictionary: `fuzz/dicts/config.dict`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::config::check(data));
