//! See `bridge_core::fuzzing::stamp_locate` for the property.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bridge_core::fuzzing::stamp_locate(data));
