//! The head of a file: the first lines that its own tools read only at the very top, which a
//! stamp must therefore stay below (SPEC §3). In order: a UTF-8 BOM; then a shebang line, an
//! XML declaration, or front matter (`---` … `---`/`...` YAML, `+++` … `+++` TOML: Jekyll,
//! Hugo, mkdocs); then, on the first two lines, a Python coding cookie (PEP 263) or an
//! Emacs/Vim mode line, and Dockerfile parser directives (`# syntax=`, `# escape=`,
//! `# check=`), which BuildKit stops reading at the first other comment.
//!
//! The rules look at the content only, never at its type or path: the stamped file must give
//! the same position back (the stamp's own lines match none of them), whatever name it has
//! when it is verified. A head that ends the content without a newline puts the stamp after
//! a newline of its own ([`Form::NewlineFirst`]).

/// How a block sits at its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// Each line followed by a newline (the block starts a line).
    LineFirst,
    /// Each line preceded by a newline, block runs to the end of the content. Used only
    /// when the content is its head and that ends without a newline.
    NewlineFirst,
}

use crate::firstlines::{is_coding_cookie, is_mode_line, is_parser_directive};

/// Front matter longer than this is not looked for (the scan stays bounded on hostile input).
const MAX_FRONT_MATTER: usize = 64 * 1024;
/// At most this many cookie, mode or directive lines (BuildKit knows three directives).
const MAX_HEAD_LINES: usize = 6;

/// One line from `pos`: its text without the line break, and where the next line starts
/// (`None` when the line runs to the end of the content without a newline).
fn line_at(s: &[u8], pos: usize) -> (&[u8], Option<usize>) {
    match s[pos..].iter().position(|&b| b == b'\n') {
        Some(i) => {
            let text = &s[pos..pos + i];
            (text.strip_suffix(b"\r").unwrap_or(text), Some(pos + i + 1))
        }
        None => (&s[pos..], None),
    }
}

/// Where a stamp goes in `content`, and how it sits there.
pub(crate) fn insertion_point(content: &[u8]) -> (usize, Form) {
    let bom = if content.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = &content[bom..];
    // Lines read so far, counting from the first line of the file.
    let (mut pos, mut lines) = (bom, 0);
    if body.starts_with(b"#!") {
        match line_at(content, bom).1 {
            Some(next) => (pos, lines) = (next, 1),
            None => return (content.len(), Form::NewlineFirst),
        }
    } else if body.starts_with(b"<?xml") {
        if let Some(i) = body.windows(2).position(|w| w == b"?>") {
            let mut at = bom + i + 2;
            if content[at..].starts_with(b"\r\n") {
                at += 2;
            } else if content[at..].starts_with(b"\n") {
                at += 1;
            }
            // A declaration is all the head an XML document has.
            return (at, Form::LineFirst);
        }
    } else if let Some(end) = front_matter(content, bom) {
        return match end {
            Some(next) => (next, Form::LineFirst),
            None => (content.len(), Form::NewlineFirst),
        };
    }
    let mut directives_only = lines == 0;
    for _ in 0..MAX_HEAD_LINES {
        if pos >= content.len() {
            break;
        }
        let (text, next) = line_at(content, pos);
        let first_lines = lines < 2;
        let directive = directives_only && is_parser_directive(text);
        if !(directive || first_lines && (is_coding_cookie(text) || is_mode_line(text))) {
            break;
        }
        directives_only &= directive;
        lines += 1;
        match next {
            Some(next) => pos = next,
            None => return (content.len(), Form::NewlineFirst),
        }
    }
    (pos, Form::LineFirst)
}

/// The end of the front matter starting at `at`: `Some(Some(next line))`, or `Some(None)`
/// when its closing line ends the content; `None` if there is no closed front matter there.
fn front_matter(s: &[u8], at: usize) -> Option<Option<usize>> {
    let (open, first) = line_at(s, at);
    let closes: &[&[u8]] = match open {
        b"---" => &[b"---", b"..."],
        b"+++" => &[b"+++"],
        _ => return None,
    };
    let mut pos = first?;
    while pos < s.len() && pos - at <= MAX_FRONT_MATTER {
        let (text, next) = line_at(s, pos);
        if closes.contains(&text) {
            return Some(next);
        }
        pos = next?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> usize {
        insertion_point(s.as_bytes()).0
    }

    #[test]
    fn directives_cookies_and_mode_lines_stay_first() {
        assert_eq!(at("FROM a\n"), 0);
        assert_eq!(at("# syntax=docker/dockerfile:1\nFROM a\n"), 29);
        assert_eq!(
            at("# syntax=x\n#ESCAPE = `\n# check=skip=all\nFROM a\n"),
            40
        );
        // An unknown directive is a comment: BuildKit stops there, so do we.
        assert_eq!(at("# foo=bar\n# syntax=x\n"), 0);
        assert_eq!(at("# syntax=x\n# foo=bar\n# escape=`\n"), 11);
        assert_eq!(at("# -*- coding: latin-1 -*-\nx = 1\n"), 26);
        assert_eq!(
            at("#!/usr/bin/python\n# vim: set fileencoding=utf-8 :\nx\n"),
            50
        );
        assert_eq!(
            at("# This is code\n# coding=utf-8\n"),
            0,
            "line 1 is not a head line"
        );
        assert_eq!(at("x = 1\n# coding: utf-8\n"), 0);
        // Mode lines count on the first two lines only.
        assert_eq!(at("#!/bin/sh\n# -*- sh -*-\n# vim: ts=2\n"), 23);
        assert_eq!(at("# encoding is not a cookie\n"), 0);
        assert_eq!(at("#vim:ts=2\n"), 0, "needs a space before vim:");
        assert_eq!(at("# vim:ts=2\n"), 11);
    }

    #[test]
    fn front_matter_stays_first_when_it_is_closed() {
        assert_eq!(at("---\ntitle: x\n---\n# Hi\n"), 17);
        assert_eq!(at("---\r\ntitle: x\r\n...\r\nbody"), 20);
        assert_eq!(at("+++\ntitle = 'x'\n+++\nbody\n"), 20);
        assert_eq!(at("---\nnot closed\n"), 0);
        assert_eq!(at("--- \nx\n---\n"), 0, "the opening line is exactly ---");
        assert_eq!(insertion_point(b"---\na: 1\n---"), (12, Form::NewlineFirst));
        let long = format!("---\n{}---\nbody\n", "x: 1\n".repeat(20_000));
        assert_eq!(at(&long), 0, "beyond the bound: no front matter");
    }

    #[test]
    fn a_head_without_a_newline_takes_the_stamp_after_one() {
        assert_eq!(insertion_point(b"#!/bin/sh"), (9, Form::NewlineFirst));
        assert_eq!(insertion_point(b"# syntax=x"), (10, Form::NewlineFirst));
        assert_eq!(
            insertion_point(b"\xEF\xBB\xBF# -*- coding: utf-8 -*-\n"),
            (27, Form::LineFirst)
        );
    }
}
