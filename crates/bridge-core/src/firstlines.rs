//! Recognisers of the first lines that tools read only at the top of a file: Dockerfile
//! parser directives, Python coding cookies, Emacs/Vim mode lines. The stamp keeps below them
//! (`stamp::head`), and a declared encoding makes non-UTF-8 bytes text (`filetype`).

/// `# name=value` with a name BuildKit reads (case-insensitive), as its parser matches it:
/// `^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`. An unknown name is a comment, and
/// ends BuildKit's search, so it ends the head too.
pub(crate) fn is_parser_directive(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"#") else {
        return false;
    };
    let rest = trim_start(rest);
    let name_len = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    let known = [&b"syntax"[..], b"escape", b"check"]
        .iter()
        .any(|k| name.eq_ignore_ascii_case(k));
    match trim_start(rest).strip_prefix(b"=") {
        Some(value) => known && !trim_start(value).is_empty(),
        None => false,
    }
}

/// PEP 263: `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`.
pub(crate) fn is_coding_cookie(line: &[u8]) -> bool {
    let line = match line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))
    {
        Some(i) => &line[i..],
        None => return false,
    };
    if !line.starts_with(b"#") {
        return false;
    }
    (0..line.len()).any(|i| {
        let Some(rest) = line[i..].strip_prefix(b"coding") else {
            return false;
        };
        let Some(rest) = rest.strip_prefix(b":").or_else(|| rest.strip_prefix(b"=")) else {
            return false;
        };
        trim_start(rest)
            .first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

/// An Emacs first-line mode (`-*- … -*-`) or a Vim modeline (`vi:`, `vim:`, `Vim:` at the start
/// or after a space, `ex:` after a space; options after it).
pub(crate) fn is_mode_line(line: &[u8]) -> bool {
    let emacs = line
        .windows(3)
        .position(|w| w == b"-*-")
        .is_some_and(|i| line[i + 3..].windows(3).any(|w| w == b"-*-"));
    let vim = [&b"vi:"[..], b"vim:", b"Vim:", b"ex:"].iter().any(|tag| {
        (0..line.len()).any(|i| {
            line[i..].starts_with(tag)
                && (if i == 0 {
                    *tag != b"ex:"
                } else {
                    line[i - 1].is_ascii_whitespace()
                })
                && line.len() > i + tag.len()
        })
    });
    emacs || vim
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    &s[i..]
}

/// Whether one of the first two lines of `content` is a coding cookie (after a line 1 that is
/// a comment, for line 2): Python reads the file in that encoding, so it is text even if it is
/// not UTF-8.
pub(crate) fn declares_encoding(content: &[u8]) -> bool {
    let body = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    is_coding_cookie(first)
        || (first.trim_ascii_start().starts_with(b"#")
            && lines.next().is_some_and(is_coding_cookie))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_as_pep_263_writes_them() {
        assert!(is_coding_cookie(b"# -*- coding: latin-1 -*-"));
        assert!(is_coding_cookie(b"# vim: set fileencoding=utf-8 :"));
        assert!(is_coding_cookie(b"  #coding=cp1252"));
        assert!(!is_coding_cookie(b"coding: utf-8"));
        assert!(!is_coding_cookie(b"# coding utf-8"));
        assert!(!is_coding_cookie(b"# coding: "));
        assert!(declares_encoding(
            b"#!/usr/bin/python\n# coding: latin-1\n\xe9"
        ));
        assert!(!declares_encoding(b"x = 1\n# coding: latin-1\n\xe9"));
    }

    #[test]
    fn directives_by_buildkit_s_rule() {
        assert!(is_parser_directive(b"# syntax=docker/dockerfile:1"));
        assert!(is_parser_directive(b"#ESCAPE = `"));
        assert!(is_parser_directive(b"# check=skip=JSONArgsRecommended"));
        assert!(!is_parser_directive(b"# foo=bar"));
        assert!(!is_parser_directive(b"# syntax ="));
        assert!(!is_parser_directive(b" # syntax=x"));
    }

    #[test]
    fn mode_lines() {
        assert!(is_mode_line(b"# -*- mode: python -*-"));
        assert!(is_mode_line(b"# vim: set ts=4 :"));
        assert!(is_mode_line(b"vim:ts=4"));
        assert!(is_mode_line(b"// ex: ts=4"));
        assert!(!is_mode_line(b"ex:ts=4"));
        assert!(!is_mode_line(b"# -*- only one"));
        assert!(!is_mode_line(b"#vim:"));
    }
}
