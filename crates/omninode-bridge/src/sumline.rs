//! The lines of a `b3sum` checksum file, exactly as `b3sum` 1.x writes and reads them, so that
//! either tool checks the other's output: `<64 lowercase hex>  <name>` (or the `--tag` form
//! `BLAKE3 (<name>) = <hex>`), where a name holding `\`, LF or CR is escaped (`\\`, `\n`, `\r`)
//! and its line starts with one `\`. A name that is not UTF-8 is written lossily (U+FFFD), as
//! `b3sum` does, and a check line naming U+FFFD or NUL is refused: two different files could
//! answer to it.
//!
//! Hand-written rather than a crate: `b3sum` is a binary, not a library, and no crate
//! implements its escaping; these rules are its `filepath_to_string` and `parse_check_line`.

use std::path::{Path, PathBuf};

/// A name as a checksum line shows it, and whether its line starts with `\`.
pub(crate) fn shown_name(path: &Path) -> (String, bool) {
    let name = path.to_string_lossy();
    if name.contains(['\\', '\n', '\r']) {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        (escaped, true)
    } else {
        (name.into_owned(), false)
    }
}

/// The checksum line of `path` (without its newline).
pub(crate) fn line(hex: &str, path: &Path) -> String {
    let (name, escaped) = shown_name(path);
    format!("{}{hex}  {name}", if escaped { "\\" } else { "" })
}

/// Why a check line names no file and digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LineError {
    #[error("empty line")]
    Empty,
    #[error("expected '<64 hex>  <path>' or 'BLAKE3 (<path>) = <64 hex>'")]
    Format,
    #[error("not a BLAKE3 hex digest (64 lowercase hex digits)")]
    Digest,
    #[error("invalid backslash escape in the path (only \\\\, \\n and \\r)")]
    Escape,
    #[error("empty file path")]
    EmptyPath,
    #[error("NUL character in the path")]
    Nul,
    #[error("Unicode replacement character in the path (a name that was not UTF-8)")]
    Replacement,
}

/// One parsed check line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckLine {
    /// The name as the line shows it, with its leading `\` if it had one (how results are
    /// reported, as `b3sum` does).
    pub(crate) shown: String,
    /// The file to hash.
    pub(crate) path: PathBuf,
    /// The expected digest, lowercase hex.
    pub(crate) hex: String,
}

/// Parses one line of a checksum file (a trailing LF or CRLF is ignored).
pub(crate) fn parse(line: &str) -> Result<CheckLine, LineError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let (escaped, rest) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    // Untagged: the name may hold "  ", so split at the first. Tagged: the name may hold
    // ") = ", so split at the last.
    let (hex, name) = match rest.split_once("  ") {
        Some(parts) => parts,
        None => rest
            .strip_prefix("BLAKE3 (")
            .and_then(|r| r.rsplit_once(") = "))
            .map(|(name, hex)| (hex, name))
            .ok_or(LineError::Format)?,
    };
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(LineError::Digest);
    }
    let path = if escaped {
        unescape(name)?
    } else {
        name.to_owned()
    };
    if path.is_empty() {
        return Err(LineError::EmptyPath);
    }
    if path.contains('\0') {
        return Err(LineError::Nul);
    }
    if path.contains('\u{FFFD}') {
        return Err(LineError::Replacement);
    }
    Ok(CheckLine {
        shown: if escaped {
            format!("\\{name}")
        } else {
            name.to_owned()
        },
        path: PathBuf::from(path),
        hex: hex.to_owned(),
    })
}

fn unescape(name: &str) -> Result<String, LineError> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('n') => '\n',
            Some('r') => '\r',
            Some('\\') => '\\',
            _ => return Err(LineError::Escape),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

    #[test]
    fn plain_names_are_written_as_they_are() {
        assert_eq!(line(HEX, Path::new("a b.txt")), format!("{HEX}  a b.txt"));
    }

    #[test]
    fn backslashes_and_line_breaks_are_escaped_with_a_leading_backslash() {
        let l = line(HEX, Path::new("a\\b\nc\rd"));
        assert_eq!(l, format!("\\{HEX}  a\\\\b\\nc\\rd"));
        let parsed = parse(&l).unwrap();
        assert_eq!(parsed.path, Path::new("a\\b\nc\rd"));
        assert_eq!(parsed.shown, "\\a\\\\b\\nc\\rd");
        assert_eq!(parsed.hex, HEX);
    }

    #[test]
    fn a_name_that_is_not_utf8_is_written_lossily_and_refused_on_check() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        let l = line(HEX, Path::new(name));
        assert_eq!(l, format!("{HEX}  caf\u{FFFD}.txt"));
        assert_eq!(parse(&l), Err(LineError::Replacement));
    }

    #[test]
    fn both_forms_parse_and_the_name_may_hold_the_separators() {
        let p = parse(&format!("{HEX}  two  spaces\n")).unwrap();
        assert_eq!(p.path, Path::new("two  spaces"));
        let p = parse(&format!("BLAKE3 (odd) = name) = {HEX}\r\n")).unwrap();
        assert_eq!(p.path, Path::new("odd) = name"));
        let p = parse(&format!("\\BLAKE3 (x\\ny) = {HEX}")).unwrap();
        assert_eq!(p.path, Path::new("x\ny"));
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        assert_eq!(parse("\n"), Err(LineError::Empty));
        assert_eq!(parse("nonsense"), Err(LineError::Format));
        assert_eq!(parse("zz  a.txt"), Err(LineError::Digest));
        assert_eq!(
            parse(&format!("{}  a", HEX.to_uppercase())),
            Err(LineError::Digest)
        );
        assert_eq!(parse(&format!("{HEX}  ")), Err(LineError::EmptyPath));
        assert_eq!(parse(&format!("\\{HEX}  a\\tb")), Err(LineError::Escape));
        assert_eq!(parse(&format!("\\{HEX}  a\\")), Err(LineError::Escape));
        assert_eq!(parse(&format!("{HEX}  a\0b")), Err(LineError::Nul));
        // Unescaped lines keep backslashes literally.
        assert_eq!(
            parse(&format!("{HEX}  a\\nb")).unwrap().path,
            Path::new("a\\nb")
        );
    }
}
