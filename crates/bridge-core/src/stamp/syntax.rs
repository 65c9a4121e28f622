//! Markers of each comment syntax, and the value escaping that keeps a stamp's values from
//! ending its comment (`--` inside `<!-- -->`, `*/` inside `/* */`) or its line.

use crate::filetype::CommentStyle;

/// First line of a rich stamp in this syntax.
pub(crate) fn begin_marker(style: CommentStyle) -> &'static str {
    match style {
        CommentStyle::Hash => "# ---BEGIN ONEX STAMP---",
        CommentStyle::Slash => "// ---BEGIN ONEX STAMP---",
        CommentStyle::Dash => "-- ---BEGIN ONEX STAMP---",
        // XML forbids `--` inside comments, so the HTML markers carry no dashes.
        CommentStyle::Html => "<!-- ONEX STAMP BEGIN",
        CommentStyle::Css => "/* ---BEGIN ONEX STAMP---",
    }
}

/// Last line of a rich stamp in this syntax.
pub(crate) fn end_marker(style: CommentStyle) -> &'static str {
    match style {
        CommentStyle::Hash => "# ---END ONEX STAMP---",
        CommentStyle::Slash => "// ---END ONEX STAMP---",
        CommentStyle::Dash => "-- ---END ONEX STAMP---",
        CommentStyle::Html => "ONEX STAMP END -->",
        CommentStyle::Css => "---END ONEX STAMP--- */",
    }
}

/// What precedes `key: value` on a field line of a rich stamp.
pub(crate) fn field_prefix(style: CommentStyle) -> &'static str {
    match style {
        CommentStyle::Hash => "# ",
        CommentStyle::Slash => "// ",
        CommentStyle::Dash => "-- ",
        CommentStyle::Html | CommentStyle::Css => "",
    }
}

/// Opening and closing text around a lightweight stamp's body.
pub(crate) fn lightweight_delims(style: CommentStyle) -> (&'static str, &'static str) {
    match style {
        CommentStyle::Hash => ("# ", ""),
        CommentStyle::Slash => ("// ", ""),
        CommentStyle::Dash => ("-- ", ""),
        CommentStyle::Html => ("<!-- ", " -->"),
        CommentStyle::Css => ("/* ", " */"),
    }
}

/// Percent-escapes `%`, control characters, and the sequences that would close the comment
/// of `style` (`None` = sidecar, where only `%` and controls matter).
pub(crate) fn escape(value: &str, style: Option<CommentStyle>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut prev = '\0';
    for c in value.chars() {
        let closes_comment = match style {
            Some(CommentStyle::Html) => c == '-' && prev == '-',
            Some(CommentStyle::Css) => c == '/' && prev == '*',
            _ => false,
        };
        if c == '%' || c.is_control() || closes_comment {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Reverses `escape`; `None` for a malformed escape or non-UTF-8 result.
pub(crate) fn unescape(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// First 16 hex digits of BLAKE3 over `text`: detects any change to a stamp's own fields.
pub(crate) fn checksum(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn escape_roundtrips_and_never_closes_a_comment(v in "\\PC*|[-*/%\\n\\r]{0,12}") {
            for style in [None, Some(CommentStyle::Html), Some(CommentStyle::Css), Some(CommentStyle::Hash)] {
                let e = escape(&v, style);
                let back = unescape(&e);
                prop_assert_eq!(back.as_deref(), Some(v.as_str()));
                prop_assert!(!e.chars().any(char::is_control));
                if style == Some(CommentStyle::Html) { prop_assert!(!e.contains("--")); }
                if style == Some(CommentStyle::Css) { prop_assert!(!e.contains("*/")); }
            }
        }
    }

    #[test]
    fn unescape_rejects_bad_escapes() {
        assert_eq!(unescape("%2"), None);
        assert_eq!(unescape("%zz"), None);
        assert_eq!(unescape("%2d"), None, "lowercase escapes are never written");
        assert_eq!(unescape("%FF"), None, "not UTF-8");
        assert_eq!(unescape("a%25b").as_deref(), Some("a%b"));
    }
}
