//! Replays the fuzzers' committed corpus (`fuzz/corpus/<target>/`: the coverage-minimised
//! inputs of `scripts/fuzz` runs, plus hand-made seeds) through the same properties the fuzz
//! targets check, on stable Rust in every `cargo test`.

use std::path::Path;

use bridge_core::fuzzing;

fn replay(target: &str, property: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| property(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks the property",
            path.display()
        );
        n += 1;
    }
    // An empty directory would make this test pass with nothing checked.
    assert!(n >= 10, "{target}: only {n} inputs in {}", dir.display());
}

#[test]
fn stamp_roundtrip_corpus() {
    replay("stamp_roundtrip", fuzzing::stamp_roundtrip);
}

#[test]
fn stamp_locate_corpus() {
    replay("stamp_locate", fuzzing::stamp_locate);
}

#[test]
fn contracts_corpus() {
    replay("contracts", fuzzing::contracts);
}

#[test]
fn request_fields_corpus() {
    replay("request_fields", fuzzing::request_fields);
}
