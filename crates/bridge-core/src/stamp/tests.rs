//! Stamp format tests: exact examples, and the two properties the format exists for.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::domain::StampType;
use crate::filetype::CommentStyle;
use crate::hash::hash_bytes;
use crate::signature::{Keyring, StampSigner, Trust, TrustedKey};

fn fields(original: &[u8], path: Option<&str>) -> StampFields {
    StampFields {
        stamp_id: Uuid::from_u128(0x0190f3a2_0000_7000_8000_000000000001),
        file_hash: hash_bytes(original),
        namespace: "my_app".into(),
        content_type: "text/x-python".into(),
        file_size: original.len() as u64,
        file_path: path.map(str::to_owned),
        created_at: Utc.with_ymd_and_hms(2026, 11, 26, 12, 34, 56).unwrap(),
        signature: None,
    }
}

fn signer() -> StampSigner {
    StampSigner::generate()
}

/// `f` signed by `by`.
fn signed(mut f: StampFields, by: &StampSigner) -> StampFields {
    let statement = f.statement(by.id().as_str()).unwrap();
    f.signature = Some(by.sign(&statement).unwrap());
    f
}

fn stamped(original: &[u8], kind: StampType, style: CommentStyle, path: Option<&str>) -> Vec<u8> {
    stamped_with(original, kind, style, path, None)
}

fn stamped_with(
    original: &[u8],
    kind: StampType,
    style: CommentStyle,
    path: Option<&str>,
    by: Option<&StampSigner>,
) -> Vec<u8> {
    let nl = newline_of(original);
    let mut f = fields(original, path);
    if let Some(by) = by {
        f = signed(f, by);
    }
    insert(original, &render_block(&f, kind, style, nl), nl)
}

#[test]
fn rich_python_stamp_looks_like_the_spec() {
    let out = stamped(
        b"print('hi')\n",
        StampType::Rich,
        CommentStyle::Hash,
        Some("src/app.py"),
    );
    let text = String::from_utf8(out).unwrap();
    let expected_head = "# ---BEGIN ONEX STAMP---\n# metadata_version: 0.1\n# stamp_id: 0190f3a2-0000-7000-8000-000000000001\n";
    assert!(text.starts_with(expected_head), "{text}");
    assert!(text.contains(&format!(
        "# file_hash: blake3:{}\n",
        hash_bytes(b"print('hi')\n")
    )));
    assert!(text.contains("# namespace: my_app\n# content_type: text/x-python\n# file_size: 12\n# file_path: src/app.py\n# created_at: 2026-11-26T12:34:56.000Z\n# stamp_checksum: "));
    assert!(text.ends_with("# ---END ONEX STAMP---\nprint('hi')\n"));
    assert!(validate(text.as_bytes(), None).is_valid());
}

#[test]
fn prefix_lines_stay_first() {
    for (original, head) in [
        (
            &b"#!/usr/bin/env python3\nprint(1)\n"[..],
            &b"#!/usr/bin/env python3\n# ---BEGIN"[..],
        ),
        (b"\xEF\xBB\xBFhello\n", b"\xEF\xBB\xBF# ---BEGIN"),
        (
            b"\xEF\xBB\xBF#!/bin/sh\r\necho\r\n",
            b"\xEF\xBB\xBF#!/bin/sh\r\n# ---BEGIN ONEX STAMP---\r\n",
        ),
        (b"#!/bin/sh", b"#!/bin/sh\n# ---BEGIN"),
    ] {
        let out = stamped(original, StampType::Rich, CommentStyle::Hash, None);
        assert!(out.starts_with(head), "{:?}", String::from_utf8_lossy(&out));
        assert_eq!(remove(&out).as_ref(), original);
    }
    let xml = b"<?xml version=\"1.0\"?>\n<svg/>\n";
    let out = stamped(xml, StampType::Rich, CommentStyle::Html, None);
    assert!(out.starts_with(b"<?xml version=\"1.0\"?>\n<!-- ONEX STAMP BEGIN\n"));
    assert_eq!(remove(&out).as_ref(), xml);
    let inline = b"<?xml version=\"1.0\"?><a/>";
    let out = stamped(inline, StampType::Rich, CommentStyle::Html, None);
    assert!(out.starts_with(b"<?xml version=\"1.0\"?><!-- ONEX STAMP BEGIN\n"));
    assert_eq!(remove(&out).as_ref(), inline);
}

#[test]
fn html_stamp_never_contains_double_dash_inside_the_comment() {
    let mut f = fields(b"x", Some("a--b/c--.md"));
    f.namespace = "ns--x".into();
    let block = render_block(&f, StampType::Rich, CommentStyle::Html, "\n");
    let inner = block
        .strip_prefix("<!--")
        .unwrap()
        .strip_suffix("-->")
        .unwrap();
    assert!(!inner.contains("--"), "{block}");
    let out = insert(b"x", &block, "\n");
    let v = validate(&out, None);
    let stamp = v.stamp.unwrap();
    assert_eq!(stamp.file_path.as_deref(), Some("a--b/c--.md"));
    assert_eq!(stamp.namespace.as_deref(), Some("ns--x"));
}

#[test]
fn restamp_replaces_instead_of_nesting() {
    let original = b"fn main() {}\n";
    let once = stamped(original, StampType::Rich, CommentStyle::Slash, None);
    let o = Original::of(&once);
    assert_eq!(o.bytes.as_ref(), original);
    let req = StampRequest {
        namespace: "ns",
        file_path: Some("main.rs"),
        stamp_type: StampType::Lightweight,
        stamp_id: Uuid::now_v7(),
        now: Utc::now(),
        signer: None,
    };
    let twice = stamp(&o, &req).unwrap().stamped.unwrap();
    let text = String::from_utf8(twice.clone()).unwrap();
    assert_eq!(text.matches("ONEX").count(), 1, "{text}");
    assert!(text.starts_with("// ONEX:uid="));
    assert_eq!(remove(&twice).as_ref(), original);
}

#[test]
fn validation_reasons() {
    let original = b"SELECT 1;\n";
    let good = stamped(original, StampType::Rich, CommentStyle::Dash, None);
    assert_eq!(validate(&good, None).reason, Reason::Valid);
    assert_eq!(validate(original, None).reason, Reason::NoStamp);
    assert_eq!(validate(original, None).current_hash, hash_bytes(original));

    let mut tampered = good.clone();
    *tampered.last_mut().unwrap() = b'\t';
    assert_eq!(validate(&tampered, None).reason, Reason::HashMismatch);

    let other = hash_bytes(b"other");
    assert_eq!(validate(&good, Some(&other)).reason, Reason::HashMismatch);
    assert_eq!(
        validate(&good, Some(&hash_bytes(original))).reason,
        Reason::Valid
    );

    let text = String::from_utf8(good.clone()).unwrap();
    let v2 = text.replace("metadata_version: 0.1", "metadata_version: 0.2");
    assert_eq!(
        validate(v2.as_bytes(), None).reason,
        Reason::UnsupportedVersion
    );

    let bad = text.replace("-- file_size: 10\n", "-- file_size: ten\n");
    let v = validate(bad.as_bytes(), None);
    assert_eq!(v.reason, Reason::MalformedStamp);
    assert_eq!(v.line, Some(7), "{:?}", v.detail);

    let unterminated = "-- ---BEGIN ONEX STAMP---\n-- metadata_version: 0.1\nSELECT 1;\n";
    assert_eq!(
        validate(unterminated.as_bytes(), None).reason,
        Reason::MalformedStamp
    );
}

#[test]
fn recognises_the_python_originals_formats() {
    let content = "# Title\n\nbody\n";
    let h = hash_bytes(content.as_bytes());
    let light = format!(
        "# ONEX:uid=abc-123,hash={h},ts=2025-01-01T00:00:00.123456+00:00,author=me\n{content}"
    );
    let v = validate(light.as_bytes(), None);
    assert_eq!(v.reason, Reason::Valid, "{:?}", v.detail);
    assert_eq!(v.stamp.unwrap().format, StampFormat::LegacyLightweight);

    let trimmed = hash_bytes(content.trim().as_bytes());
    let rich = format!(
        "{content}\n\n<!-- ONEX_METADATA_START -->\n<!-- ONEX Metadata Stamp\n  uid: u1\n  hash: {trimmed}\n  timestamp: 2025-01-01T00:00:00+00:00\n  protocol_version: 1.0\n  integrity:\n    algorithm: BLAKE3\n    hash: {trimmed}\n-->\n<!-- ONEX_METADATA_END -->"
    );
    let v = validate(rich.as_bytes(), None);
    assert_eq!(v.reason, Reason::Valid, "{:?}", v.detail);
    assert_eq!(v.stamp.as_ref().unwrap().format, StampFormat::LegacyRich);
    assert_eq!(remove(rich.as_bytes()).as_ref(), content.as_bytes());
    let broken = rich.replace("body", "bodY");
    assert_eq!(
        validate(broken.as_bytes(), None).reason,
        Reason::HashMismatch
    );
}

#[test]
fn sidecar_validates_binary_content() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let sidecar = render_sidecar(&fields(png, Some("img.png")));
    assert!(validate_sidecar(png, &sidecar, None).is_valid());
    assert_eq!(
        validate_sidecar(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDX", &sidecar, None).reason,
        Reason::HashMismatch
    );
    let altered = sidecar.replace("namespace: my_app", "namespace: my_apq");
    assert_eq!(
        validate_sidecar(png, &altered, None).reason,
        Reason::MalformedStamp
    );
    assert_eq!(
        validate_sidecar(png, "garbage", None).reason,
        Reason::MalformedStamp
    );
}

fn any_style() -> impl Strategy<Value = CommentStyle> {
    prop::sample::select(CommentStyle::ALL.to_vec())
}

fn any_kind() -> impl Strategy<Value = StampType> {
    prop_oneof![Just(StampType::Rich), Just(StampType::Lightweight)]
}

/// Content shaped like real files: optional BOM, a head (shebang, XML declaration, parser
/// directives, coding cookie, mode line, front matter), lines with LF or CRLF, empty lines, and optionally no trailing newline; plus arbitrary bytes.
fn any_content() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![Just(String::new()), "[ -~]{0,30}", "\\PC{0,10}"];
    let structured = (
        any::<bool>(),
        prop_oneof![
            Just(""),
            Just("#!/bin/sh"),
            Just("#!/usr/bin/env python3"),
            Just("<?xml version=\"1.0\"?>"),
            Just("# syntax=docker/dockerfile:1\n# escape=`"),
            Just("# -*- coding: latin-1 -*-"),
            Just("#!/usr/bin/env python\n# vim: set fileencoding=utf-8 :"),
            Just("---\ntitle: x\n---"),
            Just("+++\ntitle = 'x'\n+++")
        ],
        prop::collection::vec(line, 0..8),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(bom, head, lines, nl, trailing)| {
            let mut s = Vec::new();
            if bom {
                s.extend_from_slice(b"\xEF\xBB\xBF");
            }
            s.extend_from_slice(head.as_bytes());
            if !head.is_empty() && !lines.is_empty() {
                s.extend_from_slice(nl.as_bytes());
            }
            s.extend_from_slice(lines.join(nl).as_bytes());
            if trailing && !lines.is_empty() {
                s.extend_from_slice(nl.as_bytes());
            }
            s
        });
    prop_oneof![3 => structured, 1 => prop::collection::vec(any::<u8>(), 0..200)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn stamp_then_remove_is_identity(original in any_content(), style in any_style(), kind in any_kind(), path in prop::option::of("[a-z-]{1,8}(/[a-z-]{1,8})?\\.[a-z]{1,3}"), sign in any::<bool>()) {
        // Content that already starts with a stamp is restamped, not nested; skip it here.
        prop_assume!(matches!(locate::locate(&original), Located::NoStamp));
        let by = signer();
        let out = stamped_with(&original, kind, style, path.as_deref(), sign.then_some(&by));
        let back = remove(&out);
        prop_assert_eq!(back.as_ref(), &original[..]);
        let v = validate(&out, None);
        prop_assert!(v.is_valid(), "{:?} {:?}", v.reason, v.detail);
        prop_assert_eq!(v.current_hash, hash_bytes(&original));
        let signed = sign && kind == StampType::Rich;
        prop_assert_eq!(v.signed_by.as_ref(), signed.then(|| by.id()));
    }

    #[test]
    fn any_single_byte_change_fails_validation(original in any_content(), style in any_style(), kind in any_kind(), pick in any::<prop::sample::Index>(), xor in 1u8..=255, sign in any::<bool>()) {
        prop_assume!(matches!(locate::locate(&original), Located::NoStamp));
        let by = signer();
        let out = stamped_with(&original, kind, style, Some("dir/file.txt"), sign.then_some(&by));
        let mut changed = out.clone();
        let i = pick.index(changed.len());
        changed[i] ^= xor;
        let v = validate(&changed, None);
        prop_assert!(!v.is_valid(), "byte {} changed {:?} -> {:?} still valid", i, out[i] as char, changed[i] as char);
    }
}

#[test]
fn every_single_byte_change_of_small_files_fails() {
    // Exhaustive over positions for one small file per style and kind.
    for style in CommentStyle::ALL {
        for kind in [StampType::Rich, StampType::Lightweight] {
            for original in [
                &b"#!/bin/sh\r\necho hi\r\n"[..],
                b"x",
                b"",
                b"\xEF\xBB\xBFa\n\nb",
            ] {
                for by in [None, Some(signer())] {
                    let out = stamped_with(original, kind, style, Some("a--b*/c.txt"), by.as_ref());
                    assert!(validate(&out, None).is_valid());
                    for i in 0..out.len() {
                        for xor in [1u8, 0x20, 0x80] {
                            let mut changed = out.clone();
                            changed[i] ^= xor;
                            assert!(
                                !validate(&changed, None).is_valid(),
                                "{style:?} {kind:?} signed {} byte {i}",
                                by.is_some()
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_signed_rich_stamp_carries_key_and_signature_instead_of_a_checksum() {
    let by = signer();
    let original = b"print('hi')\n";
    let out = stamped_with(
        original,
        StampType::Rich,
        CommentStyle::Hash,
        None,
        Some(&by),
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(!text.contains("stamp_checksum"), "{text}");
    let key_line = format!(
        "\n# created_at: 2026-11-26T12:34:56.000Z\n# key: {}\n# signature: U1NIU0lH",
        by.id()
    );
    assert!(text.contains(&key_line), "{text}");
    let v = validate(&out, None);
    assert_eq!(v.reason, Reason::Valid, "{:?}", v.detail);
    assert_eq!(v.signed_by.as_ref(), Some(by.id()));
    // Trust depends on who asks, validity does not.
    assert_eq!(v.trust(&Keyring::default()), Trust::UntrustedKey);
    let ring = Keyring::new([TrustedKey::new(by.public_key().clone(), "me")]);
    assert_eq!(v.trust(&ring), Trust::Trusted);
    assert_eq!(remove(&out).as_ref(), original);
    // Unsigned stamps stay valid and UNSIGNED.
    let plain = validate(
        &stamped(original, StampType::Rich, CommentStyle::Hash, None),
        None,
    );
    assert!(plain.is_valid());
    assert_eq!(plain.trust(&ring), Trust::Unsigned);
}

#[test]
fn signatures_that_do_not_cover_the_stamp_are_signature_invalid() {
    let ours = signer();
    let theirs = StampSigner::generate();
    let original = b"let x = 1;\n";
    let good = fields(original, Some("a.rs"));
    let render = |f: &StampFields| {
        let nl = "\n";
        insert(
            original,
            &render_block(f, StampType::Rich, CommentStyle::Slash, nl),
            nl,
        )
    };
    let invalid = |f: &StampFields, want: &str| {
        let v = validate(&render(f), None);
        assert_eq!(v.reason, Reason::SignatureInvalid, "{:?}", v.detail);
        assert!(!v.is_valid());
        assert!(
            v.detail.as_deref().unwrap().contains(want),
            "{:?}",
            v.detail
        );
        assert_eq!(v.trust(&Keyring::default()), Trust::Unsigned);
    };
    // A field changed after signing (the hash still matches the content).
    let mut altered = signed(good.clone(), &ours);
    altered.namespace = "someone_else".into();
    invalid(&altered, "does not verify");
    // Our key id, their signature over the same statement.
    let mut forged = signed(good.clone(), &theirs);
    forged.signature.as_mut().unwrap().key = ours.id().clone();
    invalid(&forged, "not by the stamp's key");
    // A signature lifted from another stamp.
    let mut lifted = signed(good.clone(), &ours);
    let other = signed(fields(b"other\n", Some("a.rs")), &ours);
    lifted.signature = other.signature;
    invalid(&lifted, "does not verify");
    // Not base64, or base64 of something else.
    let mut junk = signed(good.clone(), &ours);
    junk.signature.as_mut().unwrap().signature = "AAAA".into();
    invalid(&junk, "not an SSHSIG");
    junk.signature.as_mut().unwrap().signature = "%%%".into();
    invalid(&junk, "base64");
    // A foreign key that signed correctly is not tampering: valid, untrusted.
    let foreign = validate(&render(&signed(good, &theirs)), None);
    assert!(foreign.is_valid());
    let ring = Keyring::new([TrustedKey::new(ours.public_key().clone(), "me")]);
    assert_eq!(foreign.trust(&ring), Trust::UntrustedKey);
}

#[test]
fn a_signed_stamp_without_its_signature_or_with_a_checksum_is_malformed() {
    let by = signer();
    let original = b"x\n";
    let out = stamped_with(
        original,
        StampType::Rich,
        CommentStyle::Hash,
        None,
        Some(&by),
    );
    let text = String::from_utf8(out).unwrap();
    let sig_line = text
        .lines()
        .find(|l| l.starts_with("# signature: "))
        .unwrap();
    let stripped = text.replace(&format!("{sig_line}\n"), "");
    let v = validate(stripped.as_bytes(), None);
    assert_eq!(v.reason, Reason::MalformedStamp, "{:?}", v.detail);
    assert!(v
        .detail
        .unwrap()
        .contains("missing stamp field 'signature'"));
    let both = text.replace(
        &format!("{sig_line}\n"),
        &format!("{sig_line}\n# stamp_checksum: 00\n"),
    );
    let v = validate(both.as_bytes(), None);
    assert_eq!(v.reason, Reason::MalformedStamp);
}

#[test]
fn a_signed_sidecar_validates_and_names_its_key() {
    let by = signer();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let sidecar = render_sidecar(&signed(fields(png, Some("a.png")), &by));
    assert!(sidecar.contains(&format!("key: {}\nsignature: ", by.id())));
    let v = validate_sidecar(png, &sidecar, None);
    assert!(v.is_valid(), "{:?}", v.detail);
    assert_eq!(v.signed_by.as_ref(), Some(by.id()));
    let other = validate_sidecar(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDX", &sidecar, None);
    assert_eq!(other.reason, Reason::HashMismatch);
}

#[test]
fn no_character_of_a_signature_can_change() {
    // The blob's version and length prefixes are outside what Ed25519 signs; only a strict
    // decoder makes every character count.
    let by = signer();
    let f = signed(fields(b"x\n", None), &by);
    let sig = f.signature.clone().unwrap().signature;
    let statement = f.statement(by.id().as_str()).unwrap();
    assert!(crate::signature::verify_statement(&statement, by.id().as_str(), &sig).is_ok());
    for i in 0..sig.len() {
        for with in [b'A', b'C', b'/', b'='] {
            let mut b = sig.clone().into_bytes();
            if b[i] == with {
                continue;
            }
            b[i] = with;
            let t = String::from_utf8(b).unwrap();
            assert!(
                crate::signature::verify_statement(&statement, by.id().as_str(), &t).is_err(),
                "character {i} of {} changed to {} still verifies",
                sig.len(),
                with as char
            );
        }
    }
}
