//! Writing stamps: the block text in a comment syntax, the sidecar document, and insertion
//! at the fixed position that `locate` recomputes.

use super::fields::StampFields;
use super::head::{insertion_point, Form};
use super::syntax::{begin_marker, checksum, end_marker, escape, field_prefix, lightweight_delims};
use super::METADATA_VERSION;
use crate::domain::StampType;
use crate::filetype::CommentStyle;

/// The newline a stamp should use in `content`: CRLF if its first line ends so, else LF.
pub fn newline_of(content: &[u8]) -> &'static str {
    match content.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && content[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The `key: value` lines of a rich stamp or sidecar, ending with `key` and `signature` when
/// signed (the signature covers every field), else with `stamp_checksum`.
fn field_lines(f: &StampFields, style: Option<CommentStyle>) -> Vec<String> {
    let mut lines = vec![
        format!("metadata_version: {METADATA_VERSION}"),
        format!("stamp_id: {}", f.stamp_id),
        format!("file_hash: {}", f.file_hash.prefixed()),
        format!("namespace: {}", escape(&f.namespace, style)),
        format!("content_type: {}", escape(&f.content_type, style)),
        format!("file_size: {}", f.file_size),
    ];
    if let Some(p) = &f.file_path {
        lines.push(format!("file_path: {}", escape(p, style)));
    }
    lines.push(format!("created_at: {}", f.created_at_text()));
    if let Some(sig) = &f.signature {
        lines.push(format!("key: {}", sig.key));
        lines.push(format!("signature: {}", sig.signature));
        return lines;
    }
    let sum = checksum(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    lines.push(format!("stamp_checksum: {sum}"));
    lines
}

/// The body of a lightweight stamp: `ONEX:uid=…,hash=…,ts=…,chk=…`.
pub(crate) fn lightweight_body(f: &StampFields) -> String {
    // `+00:00` rather than `Z`: the Python original's timestamp pattern has no `Z`.
    let ts = f.created_at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00");
    let body = format!("uid={},hash={},ts={ts}", f.stamp_id, f.file_hash);
    format!("ONEX:{body},chk={}", checksum(&body))
}

/// The stamp as text in `style`, lines joined by `nl`, without leading or trailing newline.
pub fn render_block(f: &StampFields, kind: StampType, style: CommentStyle, nl: &str) -> String {
    match kind {
        StampType::Lightweight => {
            let (open, close) = lightweight_delims(style);
            format!("{open}{}{close}", lightweight_body(f))
        }
        StampType::Rich => {
            let prefix = field_prefix(style);
            let mut out = String::from(begin_marker(style));
            for line in field_lines(f, Some(style)) {
                out.push_str(nl);
                out.push_str(prefix);
                out.push_str(&line);
            }
            out.push_str(nl);
            out.push_str(end_marker(style));
            out
        }
    }
}

/// The sidecar document (YAML `key: value` lines) for binary types and JSON.
pub fn render_sidecar(f: &StampFields) -> String {
    field_lines(f, None).into_iter().map(|l| l + "\n").collect()
}

/// Inserts `block` (from `render_block` with `newline_of(original)`) into `original`.
pub fn insert(original: &[u8], block: &str, nl: &str) -> Vec<u8> {
    let (at, form) = insertion_point(original);
    let mut out = Vec::with_capacity(original.len() + block.len() + 2 * nl.len());
    out.extend_from_slice(&original[..at]);
    match form {
        Form::LineFirst => {
            out.extend_from_slice(block.as_bytes());
            out.extend_from_slice(nl.as_bytes());
        }
        Form::NewlineFirst => {
            out.extend_from_slice(nl.as_bytes());
            out.extend_from_slice(block.as_bytes());
        }
    }
    out.extend_from_slice(&original[at..]);
    out
}
