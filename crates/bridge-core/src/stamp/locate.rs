//! Finding a stamp: only at the one position where `insert` puts it, so removal is exact
//! and a stamp-like text further down a file is never mistaken for the stamp.

use chrono::DateTime;

use super::fields::{Located, ParsedStamp, StampFormat};
use super::head::{insertion_point, Form};
use super::legacy;
use super::syntax::{
    begin_marker, checksum, end_marker, escape, field_prefix, lightweight_delims, unescape,
};
use super::METADATA_VERSION;
use crate::domain::Namespace;
use crate::filetype::CommentStyle;
use crate::hash::Blake3Hex;
use crate::signature::KeyId;

/// Upper bound on lines in a rich block, so hostile input cannot make us scan far.
const MAX_BLOCK_LINES: usize = 24;

/// Looks for a stamp in `content` (O.N.E. v0.1 at the top, else the original's formats).
pub fn locate(content: &[u8]) -> Located {
    let (at, form) = insertion_point(content);
    let found = block_at(content, at, Form::LineFirst);
    if matches!(found, Located::Found { .. }) {
        return found;
    }
    // A file that was only its head (a shebang line, say, with no newline): in the stamped
    // file the head's last line ends at the stamp's own newline.
    if form == Form::LineFirst && at > bom_len(content) && content[at - 1] == b'\n' {
        let second = block_at(content, at - 1, Form::NewlineFirst);
        if matches!(second, Located::Found { .. })
            || (matches!(found, Located::NoStamp) && !matches!(second, Located::NoStamp))
        {
            return second;
        }
    }
    if !matches!(found, Located::NoStamp) {
        return found;
    }
    legacy::locate_rich(content)
}

/// Removes the stamp if there is a well-formed one; otherwise returns the content as is.
pub fn remove(content: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match locate(content) {
        Located::Found { start, end, .. } => {
            let mut out = Vec::with_capacity(content.len() - (end - start));
            out.extend_from_slice(&content[..start]);
            out.extend_from_slice(&content[end..]);
            out.into()
        }
        _ => content.into(),
    }
}

fn bom_len(content: &[u8]) -> usize {
    if content.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

/// A line of the block: its text (without terminator), where it starts, its terminator.
struct Line<'a> {
    text: &'a [u8],
    start: usize,
    /// Terminator length: 0 at end of content, 1 for LF, 2 for CRLF.
    term: usize,
}

fn read_line(s: &[u8], pos: usize) -> Line<'_> {
    match s[pos..].iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && s[pos + i - 1] == b'\r' => Line {
            text: &s[pos..pos + i - 1],
            start: pos,
            term: 2,
        },
        Some(i) => Line {
            text: &s[pos..pos + i],
            start: pos,
            term: 1,
        },
        None => Line {
            text: &s[pos..],
            start: pos,
            term: 0,
        },
    }
}

fn line_number(s: &[u8], pos: usize) -> usize {
    s[..pos].iter().filter(|&&b| b == b'\n').count() + 1
}

fn block_at(s: &[u8], at: usize, form: Form) -> Located {
    let mut pos = at;
    if form == Form::NewlineFirst {
        if s.get(pos) != Some(&b'\n') {
            return Located::NoStamp;
        }
        pos += 1;
    }
    let first = read_line(s, pos);
    let Ok(first_text) = std::str::from_utf8(first.text) else {
        return Located::NoStamp;
    };
    if let Some(style) = CommentStyle::ALL
        .into_iter()
        .find(|&st| first_text == begin_marker(st))
    {
        return rich_block(s, at, form, style, first);
    }
    for style in CommentStyle::ALL {
        let (open, close) = lightweight_delims(style);
        let Some(body) = first_text
            .strip_prefix(open)
            .and_then(|t| t.strip_suffix(close))
            .and_then(|t| t.strip_prefix("ONEX:"))
        else {
            continue;
        };
        let end = match (form, first.term) {
            (Form::LineFirst, 0) => return Located::NoStamp,
            (Form::LineFirst, t) => first.start + first.text.len() + t,
            (Form::NewlineFirst, 0) => s.len(),
            (Form::NewlineFirst, _) => return Located::NoStamp,
        };
        let line = line_number(s, first.start);
        return match parse_lightweight(body, style) {
            Ok(stamp) => Located::Found {
                start: at,
                end,
                stamp: Box::new(stamp),
            },
            Err(message) => Located::Malformed { line, message },
        };
    }
    Located::NoStamp
}

fn rich_block(s: &[u8], at: usize, form: Form, style: CommentStyle, first: Line<'_>) -> Located {
    let want_term = first.term;
    if form == Form::LineFirst && want_term == 0 {
        return Located::NoStamp;
    }
    if form == Form::NewlineFirst && want_term != 1 {
        return Located::NoStamp;
    }
    let malformed = |pos: usize, message: String| Located::Malformed {
        line: line_number(s, pos),
        message,
    };
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut pos = first.start + first.text.len() + first.term;
    loop {
        if pos > s.len()
            || (pos == s.len() && form == Form::LineFirst)
            || lines.len() > MAX_BLOCK_LINES
        {
            return malformed(first.start, format!("missing '{}' line", end_marker(style)));
        }
        let line = read_line(s, pos);
        let term_ok = match form {
            Form::LineFirst => line.term == want_term,
            Form::NewlineFirst => line.term <= 1,
        };
        let Ok(text) = std::str::from_utf8(line.text) else {
            return malformed(line.start, "stamp line is not UTF-8".into());
        };
        if text == end_marker(style) {
            let end = match form {
                Form::LineFirst if term_ok => pos + line.text.len() + line.term,
                Form::NewlineFirst if line.term == 0 => s.len(),
                _ => {
                    return malformed(
                        line.start,
                        "stamp end line is not terminated like the stamp".into(),
                    )
                }
            };
            return match parse_rich(&lines, style, s) {
                Ok(stamp) => Located::Found {
                    start: at,
                    end,
                    stamp: Box::new(stamp),
                },
                Err(other) => other,
            };
        }
        if !term_ok || (form == Form::NewlineFirst && line.term == 0) {
            return malformed(line.start, format!("missing '{}' line", end_marker(style)));
        }
        lines.push((line.start, text.to_owned()));
        pos += line.text.len() + line.term;
    }
}

fn parse_rich(
    lines: &[(usize, String)],
    style: CommentStyle,
    s: &[u8],
) -> Result<ParsedStamp, Located> {
    let malformed = |pos: usize, message: String| Located::Malformed {
        line: line_number(s, pos),
        message,
    };
    let prefix = field_prefix(style);
    let mut fields: Vec<(usize, &str, &str)> = Vec::with_capacity(lines.len());
    for (pos, text) in lines {
        let Some((key, value)) = text.strip_prefix(prefix).and_then(|t| t.split_once(": ")) else {
            return Err(malformed(
                *pos,
                format!("expected '{prefix}key: value', got {text:?}"),
            ));
        };
        fields.push((*pos, key, value));
    }
    let first_pos = lines.first().map(|l| l.0).unwrap_or(0);
    parse_fields(&fields, StampFormat::Rich, Some(style)).map_err(|e| match e {
        FieldError::Unsupported(version) => Located::Unsupported { version },
        FieldError::At(pos, msg) => malformed(pos, msg),
        FieldError::Missing(msg) => malformed(first_pos, msg),
    })
}

/// Why a list of `key: value` fields is not a valid stamp.
pub(crate) enum FieldError {
    /// `metadata_version` is not ours.
    Unsupported(String),
    /// The field at this byte position is wrong.
    At(usize, String),
    /// A required field is missing or the checksum fails.
    Missing(String),
}

/// Parses the `key: value` fields of a rich stamp or sidecar (positions are byte offsets
/// used for error line numbers), checking the version, every value, and what covers the
/// fields: a `key` and `signature` pair last (verified later, against the content), or else a
/// `stamp_checksum` last.
pub(crate) fn parse_fields(
    fields: &[(usize, &str, &str)],
    format: StampFormat,
    style: Option<CommentStyle>,
) -> Result<ParsedStamp, FieldError> {
    const KEYS: [&str; 11] = [
        "metadata_version",
        "stamp_id",
        "file_hash",
        "namespace",
        "content_type",
        "file_size",
        "file_path",
        "created_at",
        "stamp_checksum",
        "key",
        "signature",
    ];
    const CHECKSUM: usize = 8;
    const KEY: usize = 9;
    const SIGNATURE: usize = 10;
    let mut vals: [Option<(usize, &str)>; 11] = [None; 11];
    let mut covered = String::new();
    for &(pos, key, raw) in fields {
        let Some(i) = KEYS.iter().position(|k| *k == key) else {
            return Err(FieldError::At(pos, format!("unknown stamp field '{key}'")));
        };
        if vals[i].is_some() {
            return Err(FieldError::At(
                pos,
                format!("duplicate stamp field '{key}'"),
            ));
        }
        if vals[CHECKSUM].is_some() || vals[SIGNATURE].is_some() {
            let last = if vals[CHECKSUM].is_some() {
                "stamp_checksum"
            } else {
                "signature"
            };
            return Err(FieldError::At(
                pos,
                format!("{last} must be the last field"),
            ));
        }
        if i == SIGNATURE && vals[KEY].is_none() {
            return Err(FieldError::At(pos, "signature must follow key".into()));
        }
        if i == CHECKSUM && vals[KEY].is_some() {
            return Err(FieldError::At(
                pos,
                "a signed stamp has no stamp_checksum".into(),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::At(pos, format!("control character in '{key}'")));
        }
        if i < CHECKSUM {
            covered.push_str(key);
            covered.push_str(": ");
            covered.push_str(raw);
            covered.push('\n');
        }
        vals[i] = Some((pos, raw));
    }
    let Some((_, version)) = vals[0] else {
        return Err(FieldError::Missing(
            "missing stamp field 'metadata_version'".into(),
        ));
    };
    if version != METADATA_VERSION {
        return Err(FieldError::Unsupported(version.to_owned()));
    }
    let signed = vals[KEY].is_some();
    for (i, key) in KEYS.iter().enumerate() {
        let needed = match i {
            6 => false,
            CHECKSUM => !signed,
            KEY => false,
            SIGNATURE => signed,
            _ => true,
        };
        if needed && vals[i].is_none() {
            return Err(FieldError::Missing(format!("missing stamp field '{key}'")));
        }
    }
    let get = |i: usize| vals[i].expect("checked above");
    // One spelling per value: a signature covers values, not their spelling, so a second
    // spelling (`%41` for `A`, an upper-case UUID) would be a byte change that still verifies.
    let text = |i: usize| -> Result<String, FieldError> {
        let (pos, raw) = get(i);
        unescape(raw)
            .filter(|v| escape(v, style) == raw)
            .ok_or_else(|| FieldError::At(pos, format!("bad escape in '{}'", KEYS[i])))
    };
    let (pos, raw) = get(1);
    let stamp_id = uuid::Uuid::parse_str(raw)
        .ok()
        .filter(|u| u.to_string() == raw)
        .ok_or_else(|| FieldError::At(pos, "stamp_id is not a lower-case UUID".into()))?;
    let (pos, raw) = get(2);
    let file_hash = raw
        .strip_prefix("blake3:")
        .and_then(|h| Blake3Hex::parse(h).ok())
        .ok_or_else(|| {
            FieldError::At(
                pos,
                "file_hash must be 'blake3:' and 64 lowercase hex digits".into(),
            )
        })?;
    let namespace = text(3)?;
    Namespace::parse(&namespace).map_err(|e| FieldError::At(get(3).0, e.to_string()))?;
    let content_type = text(4)?;
    let (pos, raw) = get(5);
    let file_size = raw
        .parse::<u64>()
        .ok()
        .filter(|_| {
            raw.bytes().all(|b| b.is_ascii_digit()) && (raw == "0" || !raw.starts_with('0'))
        })
        .ok_or_else(|| FieldError::At(pos, "file_size is not a decimal integer".into()))?;
    let file_path = match vals[6] {
        Some(_) => Some(text(6)?),
        None => None,
    };
    let (pos, created_at) = get(7);
    DateTime::parse_from_rfc3339(created_at)
        .map_err(|_| FieldError::At(pos, "created_at is not an RFC 3339 time".into()))?;
    if let Some((pos, key)) = vals[KEY] {
        if !KeyId::is_well_formed(key) {
            return Err(FieldError::At(
                pos,
                "key must be 'SHA256:' and 43 base64 characters".into(),
            ));
        }
    } else {
        let (pos, sum) = get(CHECKSUM);
        if sum != checksum(&covered) {
            return Err(FieldError::At(
                pos,
                "stamp_checksum does not match the stamp's fields: the stamp was altered".into(),
            ));
        }
    }
    Ok(ParsedStamp {
        format,
        style,
        metadata_version: Some(version.to_owned()),
        stamp_id: Some(stamp_id.to_string()),
        file_hash,
        namespace: Some(namespace),
        content_type: Some(content_type),
        file_size: Some(file_size),
        file_path,
        created_at: Some(created_at.to_owned()),
        key: vals[KEY].map(|(_, k)| k.to_owned()),
        signature: vals[SIGNATURE].map(|(_, s)| s.to_owned()),
    })
}

/// Parses `uid=…,hash=…,ts=…[,author=…][,v=…][,chk=…]` (ours always ends with `chk`; the
/// Python original's has none and may carry `author` and `v`).
fn parse_lightweight(body: &str, style: CommentStyle) -> Result<ParsedStamp, String> {
    let (signed, chk) = match body.rsplit_once(",chk=") {
        Some((signed, chk)) => (signed, Some(chk)),
        None => (body, None),
    };
    let mut parts = signed.split(',');
    let mut take = |key: &str| -> Result<&str, String> {
        parts
            .next()
            .and_then(|p| p.strip_prefix(key))
            .and_then(|p| p.strip_prefix('='))
            .ok_or_else(|| format!("lightweight stamp: expected '{key}=' field"))
    };
    let uid = take("uid")?;
    let hash = take("hash")?;
    let ts = take("ts")?;
    if uid.is_empty()
        || !uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("lightweight stamp: uid must be [A-Za-z0-9_-]+".into());
    }
    let file_hash = Blake3Hex::parse(hash)
        .ok()
        .filter(|_| !hash.starts_with("blake3:"))
        .ok_or("lightweight stamp: hash must be 64 lowercase hex digits")?;
    DateTime::parse_from_rfc3339(ts)
        .map_err(|_| "lightweight stamp: ts is not an RFC 3339 time")?;
    for extra in parts {
        let ok = extra
            .split_once('=')
            .is_some_and(|(k, v)| matches!(k, "author" | "v") && !v.is_empty());
        if !ok || chk.is_some() {
            return Err(format!("lightweight stamp: unexpected field {extra:?}"));
        }
    }
    let format = match chk {
        Some(c) if c == checksum(signed) => StampFormat::Lightweight,
        Some(_) => {
            return Err("lightweight stamp: chk does not match: the stamp was altered".into())
        }
        None => StampFormat::LegacyLightweight,
    };
    Ok(ParsedStamp {
        format,
        style: Some(style),
        metadata_version: (format == StampFormat::Lightweight).then(|| METADATA_VERSION.to_owned()),
        stamp_id: Some(uid.to_owned()),
        file_hash,
        namespace: None,
        content_type: None,
        file_size: None,
        file_path: None,
        created_at: Some(ts.to_owned()),
        key: None,
        signature: None,
    })
}
