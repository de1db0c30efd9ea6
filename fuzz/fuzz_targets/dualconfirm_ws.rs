//! Lines of console WebSocket messages, relay messages from other nodes, clock ticks and
//! reconnections, played against a DualConfirm hub. See `portcullis_fuzz::console` for the
//! input's format and what is asserted. Seeds: `fuzz/corpus/dualconfirm_ws/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::console::check(data));
