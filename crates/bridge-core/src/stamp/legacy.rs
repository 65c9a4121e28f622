//! The Python original's rich format: a `<!-- ONEX_METADATA_START -->` … `<!--
//! ONEX_METADATA_END -->` block appended after the content and a blank line. Recognised for
//! validation and replaced on restamp; never written.

use super::fields::{Located, ParsedStamp, StampFormat};
use crate::hash::Blake3Hex;

const START: &[u8] = b"<!-- ONEX_METADATA_START -->";
const END: &[u8] = b"<!-- ONEX_METADATA_END -->";

/// Finds the original's block at the end of `s`.
pub(crate) fn locate_rich(s: &[u8]) -> Located {
    let trimmed_end = if s.ends_with(b"\n") {
        s.len() - 1
    } else {
        s.len()
    };
    if !s[..trimmed_end].ends_with(END) {
        return Located::NoStamp;
    }
    let Some(idx) = s.windows(START.len()).rposition(|w| w == START) else {
        return Located::NoStamp;
    };
    let start = if idx >= 2 && &s[idx - 2..idx] == b"\n\n" {
        idx - 2
    } else {
        idx
    };
    let line = s[..idx].iter().filter(|&&b| b == b'\n').count() + 1;
    let Ok(block) = std::str::from_utf8(&s[idx..trimmed_end]) else {
        return Located::Malformed {
            line,
            message: "legacy stamp is not UTF-8".into(),
        };
    };
    let field = |key: &str| {
        block.lines().find_map(|l| {
            l.trim()
                .strip_prefix(key)?
                .strip_prefix(':')
                .map(|v| v.trim().to_owned())
        })
    };
    let Some(file_hash) = field("hash").and_then(|h| Blake3Hex::parse(&h).ok()) else {
        return Located::Malformed {
            line,
            message: "legacy stamp has no valid 'hash:' line".into(),
        };
    };
    let stamp = ParsedStamp {
        format: StampFormat::LegacyRich,
        style: None,
        metadata_version: field("protocol_version"),
        stamp_id: field("uid"),
        file_hash,
        namespace: None,
        content_type: field("content_type"),
        file_size: field("file_size").and_then(|v| v.parse().ok()),
        file_path: field("file_path"),
        created_at: field("timestamp"),
        key: None,
        signature: None,
    };
    Located::Found {
        start,
        end: s.len(),
        stamp: Box::new(stamp),
    }
}
