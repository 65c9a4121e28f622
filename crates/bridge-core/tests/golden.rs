//! Stamps already in the world must stay valid: the files in `tests/golden/` were stamped
//! once (rich in five comment syntaxes, CRLF, lightweight, a JSON sidecar) and are never
//! regenerated. Each must validate, unstamp to its `.orig` byte for byte, and carry the
//! `stamp_checksum` / `chk` that the documented rule gives when computed here independently
//! (16 hex of BLAKE3 over the field lines, each ending in LF; for the lightweight line, over
//! `uid=…,hash=…,ts=…`). A format change that would invalidate these stamps fails this test.

use std::path::Path;

use bridge_core::stamp::{remove, validate, validate_sidecar, Reason};

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn first16(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_owned()
}

/// The stamp's field lines without their comment prefix, and the checksum it states.
fn fields_and_checksum(stamped: &str) -> (String, String) {
    let mut covered = String::new();
    let mut inside = false;
    for raw in stamped.lines() {
        let line = raw.trim_end_matches('\r');
        let bare = ["# ", "// ", "-- ", ""]
            .iter()
            .find_map(|p| line.strip_prefix(p).filter(|l| l.contains(": ")))
            .unwrap_or(line);
        if bare.starts_with("metadata_version: ") {
            inside = true;
        }
        if let Some(sum) = bare.strip_prefix("stamp_checksum: ") {
            return (covered, sum.to_owned());
        }
        if inside {
            covered.push_str(bare);
            covered.push('\n');
        }
    }
    panic!("no stamp_checksum in {stamped}")
}

#[test]
fn rich_stamps_in_every_syntax_stay_valid() {
    for name in [
        "app.py",
        "main.rs",
        "data.xml",
        "page.html",
        "style.css",
        "crlf.sql",
    ] {
        let stamped = golden(&format!("{name}.stamped"));
        let original = golden(&format!("{name}.orig"));
        let v = validate(&stamped, None);
        assert_eq!(v.reason, Reason::Valid, "{name}: {:?}", v.detail);
        assert_eq!(
            remove(&stamped).as_ref(),
            original.as_slice(),
            "{name}: unstamp"
        );
        assert_eq!(
            v.stamp.unwrap().file_hash.as_str(),
            blake3::hash(&original).to_hex().as_str(),
            "{name}: file_hash is BLAKE3 of the original"
        );
        let (covered, stated) = fields_and_checksum(std::str::from_utf8(&stamped).unwrap());
        assert_eq!(first16(&covered), stated, "{name}: stamp_checksum rule");
    }
}

#[test]
fn the_lightweight_line_stays_valid() {
    let stamped = golden("lw.py.stamped");
    let original = golden("lw.py.orig");
    assert_eq!(validate(&stamped, None).reason, Reason::Valid);
    assert_eq!(remove(&stamped).as_ref(), original.as_slice());
    let text = std::str::from_utf8(&stamped).unwrap();
    let line = text.lines().find(|l| l.contains("ONEX:uid=")).unwrap();
    let body = line.split_once("ONEX:").unwrap().1;
    let (signed, chk) = body.rsplit_once(",chk=").unwrap();
    assert_eq!(first16(signed), chk, "chk rule");
    assert!(signed.contains(&format!("hash={}", blake3::hash(&original).to_hex())));
}

#[test]
fn the_json_sidecar_stays_valid() {
    let sidecar = String::from_utf8(golden("data.json.sidecar")).unwrap();
    let original = golden("data.json.orig");
    let v = validate_sidecar(&original, &sidecar, None);
    assert_eq!(v.reason, Reason::Valid, "{:?}", v.detail);
    let (covered, stated) = fields_and_checksum(&sidecar);
    assert_eq!(first16(&covered), stated);
    // One changed byte of the file it describes is detected.
    let mut changed = original.clone();
    changed[2] ^= 1;
    assert_eq!(
        validate_sidecar(&changed, &sidecar, None).reason,
        Reason::HashMismatch
    );
}
