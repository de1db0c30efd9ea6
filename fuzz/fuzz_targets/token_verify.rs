//! Arbitrary bytes as an access token: through the guard's `Guard::verify` (twice, the second
//! time from its cache) and core's `TokenKeys::verify`, and as an `Authorization` header
//! value, bare and after `Bearer `, through `Guard::authorize`. See `portcullis_fuzz::check`
//! for what is asserted. Seeds: `fuzz/corpus/token_verify/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        portcullis_fuzz::fixture();
    },
    |data: &[u8]| {
        portcullis_fuzz::check(&String::from_utf8_lossy(data));
        portcullis_fuzz::check_header(data);
        let mut bearer = b"Bearer ".to_vec();
        bearer.extend_from_slice(data);
        portcullis_fuzz::check_header(&bearer);
    }
);
