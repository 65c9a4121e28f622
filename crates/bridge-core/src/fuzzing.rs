//! Properties checked by the fuzz targets (`fuzz/`, run by `scripts/fuzz`) and replayed on the
//! committed regression inputs by `cargo test` (`tests/fuzz_regressions.rs`): one copy of each
//! property for both. Each panics when its property breaks.

use crate::contract::StepName;
use crate::contract::{builtin::Builtin, load, ContractSource};
use crate::event::EventType;
use crate::fsm::Fsm;
use crate::signature::StampSigner;
use crate::stamp::{
    locate, remove, stamp, validate, validate_sidecar, Located, Original, StampRequest,
};
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

/// Stamping any content under any file type (first byte: type and stamp kind; second:
/// signed or not): the stamped file validates against the original's hash (signed stamps with
/// their key), and removing the stamp gives the original; a sidecar stamp validates the
/// untouched original.
pub fn stamp_roundtrip(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (sign, content) = match rest.split_first() {
        Some((&s, content)) => (s & 1 == 1, content),
        None => (false, rest),
    };
    let signer = StampSigner::generate();
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
        signer: sign.then_some(&signer),
    };
    let original = Original::of(content);
    let made = stamp(&original, &req).expect("validated inputs always stamp");
    // Lightweight lines carry no signature.
    let signed = sign && (made.stamped.is_none() || req.stamp_type == StampType::Rich);
    let expect_signer = signed.then(|| signer.id().clone());
    if let Some(stamped) = &made.stamped {
        let v = validate(stamped, Some(&original.hash));
        assert!(v.is_valid(), "stamped content does not validate: {v:?}");
        assert_eq!(v.signed_by, expect_signer, "wrong signer");
        assert_eq!(
            &*remove(stamped),
            &*original.bytes,
            "removing the stamp does not give the original back"
        );
    } else {
        let v = validate_sidecar(content, &made.stamp_text, Some(&original.hash));
        assert!(
            v.is_valid(),
            "the sidecar does not validate its file: {v:?}"
        );
        assert_eq!(v.signed_by, expect_signer, "wrong sidecar signer");
        let mut changed = content.to_vec();
        match changed.first_mut() {
            Some(b) => *b ^= 1,
            None => changed.push(0),
        }
        let v = validate_sidecar(&changed, &made.stamp_text, None);
        assert!(
            !v.is_valid(),
            "a changed file still validates against its sidecar"
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
    // The signature decoder takes hostile text without panicking.
    let _ = crate::signature::decode_signature(&String::from_utf8_lossy(content));
    // A stamp that validates and names a key was verified with that key's signature.
    let v = validate(content, None);
    if let Some(key) = v.stamp.as_ref().and_then(|s| s.key.as_deref()) {
        if v.is_valid() {
            assert_eq!(v.signed_by.as_ref().map(|k| k.as_str()), Some(key));
        } else {
            assert!(v.signed_by.is_none());
        }
    }
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
/// never a panic; and a contract that loads satisfies the rules the nodes rely on (an FSM the
/// orchestrator can drive, the steps it cannot do without, a topic for every event).
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
    let Ok(c) = load(&source) else {
        return;
    };
    let o = &c.orchestrator;
    assert!(
        Fsm::from_spec(&o.fsm).is_ok(),
        "loaded an FSM it cannot run"
    );
    for step in [StepName::HashGeneration, StepName::StampCreation] {
        assert!(
            o.workflow.steps.iter().any(|s| s.name == step),
            "loaded a workflow without {}",
            step.as_str()
        );
    }
    assert!(o
        .workflow
        .steps
        .iter()
        .all(|s| s.timeout_ms > 0 && s.retry.attempts > 0));
    let topics = o.events.for_env("fuzz");
    for ty in EventType::WORKFLOW {
        assert!(
            topics.get(ty).is_some_and(|t| !t.is_empty()),
            "no topic for {ty}"
        );
    }
    let registry = c.registry.events.for_env("fuzz");
    for ty in EventType::REGISTRY {
        assert!(registry.get(ty).is_some(), "no registry topic for {ty}");
    }
    let r = &c.reducer;
    assert!(r.aggregation.window_ms > 0 && r.aggregation.batch_size > 0);
    for (from, to) in [
        ("IDLE", "AGGREGATING"),
        ("AGGREGATING", "PERSISTING"),
        ("PERSISTING", "IDLE"),
    ] {
        assert!(
            r.fsm
                .transitions
                .iter()
                .any(|t| t.from == from && t.to == to),
            "reducer FSM lacks {from} -> {to}"
        );
    }
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
