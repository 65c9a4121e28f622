//! Properties checked by the fuzz targets (`fuzz/`, run by `scripts/fuzz`) and replayed on the
//! committed regression inputs by `cargo test` (`tests/fuzz_regressions.rs`): one copy of each
//! property for both. Each panics when its property breaks.

use crate::contract::{builtin::Builtin, load, ContractSource};
use crate::stamp::{locate, remove, stamp, validate, Located, Original, StampRequest};
use crate::{detect, Blake3Hex, Namespace, RelativePath, StampType};

const PATHS: [Option<&str>; 12] = [
    None,
    Some("a.py"),
    Some("a.rs"),
    Some("a.md"),
    Some("a.html"),
    Some("a.json"),
    Some("a.png"),
    Some("a.sh"),
    Some("a.yaml"),
    Some("a.css"),
    Some("a.sql"),
    Some("a.xml"),
];

/// Stamping any content under any file type (first byte: type and stamp kind): the stamped
/// file validates against the original's hash, and removing the stamp gives the original.
pub fn stamp_roundtrip(data: &[u8]) {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let req = StampRequest {
        namespace: "fuzz",
        file_path: PATHS[usize::from(selector & 0x7f) % PATHS.len()],
        stamp_type: if selector & 0x80 == 0 {
            StampType::Rich
        } else {
            StampType::Lightweight
        },
        stamp_id: uuid::Uuid::nil(),
        now: chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid time"),
    };
    let original = Original::of(content);
    let made = stamp(&original, &req);
    if let Some(stamped) = &made.stamped {
        let v = validate(stamped, Some(&original.hash));
        assert!(v.is_valid(), "stamped content does not validate: {v:?}");
        assert_eq!(
            &*remove(stamped),
            &*original.bytes,
            "removing the stamp does not give the original back"
        );
    }
}

/// Locating, removing and validating in hostile content never panics; removal takes out
/// exactly what `locate` found.
pub fn stamp_locate(content: &[u8]) {
    let removed = remove(content);
    match locate(content) {
        Located::Found { start, end, .. } => {
            assert!(start <= end && end <= content.len());
            assert_eq!(removed.len(), content.len() - (end - start));
        }
        _ => assert_eq!(&*removed, content),
    }
    let _ = validate(content, None);
}

struct OneReplaced<'a> {
    file: &'a str,
    text: String,
}

impl ContractSource for OneReplaced<'_> {
    fn read(&self, path: &str) -> Option<String> {
        if path == self.file {
            Some(self.text.clone())
        } else {
            Builtin.read(path)
        }
    }
}

/// One built-in contract file (first byte) replaced by arbitrary text: `Ok` or an error,
/// never a panic.
pub fn contracts(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let mut files = Builtin::paths();
    let n = files.len();
    let source = OneReplaced {
        file: files.nth(usize::from(selector) % n).expect("in range"),
        text: String::from_utf8_lossy(text).into_owned(),
    };
    let _ = load(&source);
}

/// Request field decoders (NUL-separated: namespace/hash text, path/stamp type text,
/// content): what they accept is what the spec allows.
pub fn request_fields(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let a = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let b = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let content = parts.next().unwrap_or_default();
    if let Ok(ns) = Namespace::parse(&a) {
        let s = ns.as_str();
        assert!((1..=255).contains(&s.len()));
        assert!(s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c)));
    }
    if let Ok(p) = RelativePath::parse(&b) {
        let s = p.as_str();
        assert!(!s.starts_with('/') && !s.contains('\0') && s.len() <= 4096);
        assert!(!s.split(['/', '\\']).any(|c| c == ".."));
    }
    if let Ok(h) = Blake3Hex::parse(&a) {
        assert_eq!(h.as_str().len(), 64);
    }
    let _ = StampType::parse(&b);
    assert!(!detect(content, Some(&b)).content_type.is_empty());
}
