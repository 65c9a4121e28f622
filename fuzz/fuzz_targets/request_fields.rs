//! See `bridge_core::fuzzing::request_fields` for the property.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bridge_core::fuzzing::request_fields(data));
