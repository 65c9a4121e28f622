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

/// One test per fuzz target, each replaying that target's corpus.
macro_rules! corpus_tests {
    ($($test:ident => $target:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                replay(stringify!($target), fuzzing::$target);
            }
        )*
    };
}

corpus_tests! {
    stamp_roundtrip_corpus => stamp_roundtrip,
    stamp_locate_corpus => stamp_locate,
    contracts_corpus => contracts,
    request_fields_corpus => request_fields,
}
