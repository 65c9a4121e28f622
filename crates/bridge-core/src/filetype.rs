//! File type detection and the comment syntax each text type takes.
//!
//! Order (SPEC §2/§3): magic numbers first (`infer`), then the file extension (our table for
//! text types, whose comment syntax `mime_guess` cannot know; `mime_guess` for the rest), then
//! inspection of the text itself, and `application/octet-stream` last.

use crate::domain::extension_of;

/// How a stamp is written into (or beside) content of this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Text with comments: the stamp goes inside the content in this syntax.
    Comment(CommentStyle),
    /// Binary types and JSON: never modified; the stamp is a sidecar document.
    Sidecar,
}

/// The comment syntaxes a stamp can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommentStyle {
    /// `# ` line comments.
    Hash,
    /// `// ` line comments.
    Slash,
    /// `-- ` line comments.
    Dash,
    /// One `<!-- … -->` block.
    Html,
    /// One `/* … */` block.
    Css,
}

impl CommentStyle {
    /// Every style, for exhaustive tests.
    pub const ALL: [CommentStyle; 5] = [Self::Hash, Self::Slash, Self::Dash, Self::Html, Self::Css];
}

/// The detected type of some content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileKind {
    /// MIME type reported to clients and stored.
    pub content_type: String,
    /// Whether the stamp goes inside (and in which syntax) or beside the content.
    pub treatment: Treatment,
}

impl FileKind {
    fn text(content_type: &str, style: CommentStyle) -> Self {
        Self {
            content_type: content_type.to_owned(),
            treatment: Treatment::Comment(style),
        }
    }

    fn sidecar(content_type: &str) -> Self {
        Self {
            content_type: content_type.to_owned(),
            treatment: Treatment::Sidecar,
        }
    }
}

/// Text types by extension (or whole file name), with their comment syntax.
fn by_extension(ext: &str) -> Option<FileKind> {
    use CommentStyle::*;
    let (ct, style) = match ext {
        "py" | "pyi" | "pyw" => ("text/x-python", Hash),
        "sh" | "bash" | "zsh" | "ksh" => ("text/x-shellscript", Hash),
        "yaml" | "yml" => ("application/yaml", Hash),
        "toml" => ("application/toml", Hash),
        "rb" => ("text/x-ruby", Hash),
        "pl" | "pm" => ("text/x-perl", Hash),
        "r" => ("text/x-r", Hash),
        "dockerfile" => ("text/x-dockerfile", Hash),
        "makefile" | "mk" => ("text/x-makefile", Hash),
        "txt" | "text" | "cfg" | "ini" | "conf" | "env" => ("text/plain", Hash),
        "rs" => ("text/x-rust", Slash),
        "c" | "h" => ("text/x-c", Slash),
        "cpp" | "cc" | "cxx" | "hpp" | "hh" | "hxx" => ("text/x-c++", Slash),
        "go" => ("text/x-go", Slash),
        "java" => ("text/x-java", Slash),
        "js" | "mjs" | "cjs" | "jsx" => ("text/javascript", Slash),
        "ts" | "tsx" | "mts" | "cts" => ("application/typescript", Slash),
        "kt" | "kts" => ("text/x-kotlin", Slash),
        "swift" => ("text/x-swift", Slash),
        "cs" => ("text/x-csharp", Slash),
        "sql" => ("application/sql", Dash),
        "lua" => ("text/x-lua", Dash),
        "hs" | "lhs" => ("text/x-haskell", Dash),
        "md" | "markdown" => ("text/markdown", Html),
        "html" | "htm" | "xhtml" => ("text/html", Html),
        "xml" | "xsd" | "xsl" | "plist" => ("application/xml", Html),
        "svg" => ("image/svg+xml", Html),
        "css" => ("text/css", Css),
        "json" => return Some(FileKind::sidecar("application/json")),
        _ => return None,
    };
    Some(FileKind::text(ct, style))
}

/// The lookup key for a path: its lowercased extension, or the file name for `Dockerfile`
/// and `Makefile`, which have none.
fn path_key(path: &str) -> Option<String> {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    if name == "dockerfile" || name == "makefile" || name == "gnumakefile" {
        return Some(if name == "dockerfile" {
            name
        } else {
            "makefile".into()
        });
    }
    extension_of(path)
}

/// Detects the type of `content`, using `file_path` (if any) as the second opinion.
pub fn detect(content: &[u8], file_path: Option<&str>) -> FileKind {
    // 1. Magic numbers. infer's "text" matchers (html, xml, shell) fall through to the
    //    finer text rules below.
    if let Some(t) = infer::get(content) {
        if t.matcher_type() != infer::MatcherType::Text {
            return FileKind::sidecar(t.mime_type());
        }
    }
    // UTF-8, or the encoding a Python coding cookie declares (a latin-1 module is text).
    let is_text = std::str::from_utf8(content).is_ok()
        || (!content.contains(&0) && crate::firstlines::declares_encoding(content));
    // 2. Extension.
    if let Some(key) = file_path.and_then(path_key) {
        if let Some(kind) = by_extension(&key) {
            if is_text {
                return kind;
            }
        } else if let Some(mime) = mime_guess::from_ext(&key).first() {
            if mime.type_() != mime_guess::mime::TEXT {
                return FileKind::sidecar(mime.essence_str());
            }
        }
    }
    // 3. Text inspection.
    if is_text {
        return inspect_text(content);
    }
    // 4. Unknown bytes.
    FileKind::sidecar("application/octet-stream")
}

fn inspect_text(content: &[u8]) -> FileKind {
    use CommentStyle::*;
    let body = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    if let Some(rest) = body.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
        let interp = String::from_utf8_lossy(line);
        return match () {
            _ if interp.contains("python") => FileKind::text("text/x-python", Hash),
            _ if interp.contains("node") => FileKind::text("text/javascript", Slash),
            _ if interp.contains("ruby") => FileKind::text("text/x-ruby", Hash),
            _ if interp.contains("perl") => FileKind::text("text/x-perl", Hash),
            _ => FileKind::text("text/x-shellscript", Hash),
        };
    }
    let trimmed = body.trim_ascii();
    let lower: Vec<u8> = trimmed
        .iter()
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    if lower.starts_with(b"<?xml") {
        return if windows_contain(trimmed, b"<svg") {
            FileKind::text("image/svg+xml", Html)
        } else {
            FileKind::text("application/xml", Html)
        };
    }
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return FileKind::text("text/html", Html);
    }
    if lower.starts_with(b"<svg") {
        return FileKind::text("image/svg+xml", Html);
    }
    let json_like = matches!(
        (trimmed.first(), trimmed.last()),
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
    );
    if json_like {
        return FileKind::sidecar("application/json");
    }
    FileKind::text("text/plain", Hash)
}

/// Whether `needle` occurs in the first 4 KiB of `hay` (enough for an XML prologue).
fn windows_contain(hay: &[u8], needle: &[u8]) -> bool {
    hay[..hay.len().min(4096)]
        .windows(needle.len())
        .any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommentStyle::*;

    fn style(content: &[u8], path: Option<&str>) -> Treatment {
        detect(content, path).treatment
    }

    #[test]
    fn magic_numbers_win_over_extension() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        let k = detect(png, Some("notes.txt"));
        assert_eq!(k.content_type, "image/png");
        assert_eq!(k.treatment, Treatment::Sidecar);
        assert_eq!(
            detect(b"%PDF-1.7\n%...", None).content_type,
            "application/pdf"
        );
        assert_eq!(
            detect(b"PK\x03\x04\x14\0\0\0\x08\0", None).treatment,
            Treatment::Sidecar
        );
        assert_eq!(
            detect(b"ID3\x03\0\0\0\0\0\0", None).content_type,
            "audio/mpeg"
        );
        assert_eq!(
            detect(b"\x1f\x8b\x08\0\0\0\0\0", None).content_type,
            "application/gzip"
        );
    }

    #[test]
    fn comment_syntax_by_extension() {
        let cases = [
            ("a.py", Hash),
            ("a.sh", Hash),
            ("a.yaml", Hash),
            ("a.toml", Hash),
            ("a.rb", Hash),
            ("a.pl", Hash),
            ("a.R", Hash),
            ("Dockerfile", Hash),
            ("Makefile", Hash),
            ("a.txt", Hash),
            ("a.rs", Slash),
            ("a.c", Slash),
            ("a.cpp", Slash),
            ("a.go", Slash),
            ("a.java", Slash),
            ("a.js", Slash),
            ("a.ts", Slash),
            ("a.kt", Slash),
            ("a.swift", Slash),
            ("a.cs", Slash),
            ("a.sql", Dash),
            ("a.lua", Dash),
            ("a.hs", Dash),
            ("a.md", Html),
            ("a.html", Html),
            ("a.xml", Html),
            ("a.svg", Html),
            ("a.css", Css),
        ];
        for (path, want) in cases {
            assert_eq!(
                style(b"x = 1\n", Some(path)),
                Treatment::Comment(want),
                "{path}"
            );
        }
        assert_eq!(style(b"{\"a\":1}", Some("a.json")), Treatment::Sidecar);
    }

    #[test]
    fn text_inspection_without_path() {
        assert_eq!(
            detect(b"#!/usr/bin/env python3\nprint(1)\n", None).content_type,
            "text/x-python"
        );
        assert_eq!(
            detect(b"#!/bin/sh\necho\n", None).content_type,
            "text/x-shellscript"
        );
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?><a/>", None).treatment,
            Treatment::Comment(Html)
        );
        assert_eq!(
            detect(b"<!DOCTYPE html><p>", None).content_type,
            "text/html"
        );
        assert_eq!(
            detect(b" {\"a\": [1]} ", None).content_type,
            "application/json"
        );
        assert_eq!(detect(b"hello\n", None).content_type, "text/plain");
        assert_eq!(detect(b"", None).content_type, "text/plain");
    }

    #[test]
    fn unknown_binary_is_octet_stream() {
        let k = detect(&[0xff, 0xfe, 0x00, 0x81, 0x00], None);
        assert_eq!(k.content_type, "application/octet-stream");
        assert_eq!(k.treatment, Treatment::Sidecar);
        // A text extension does not make binary bytes text.
        assert_eq!(style(&[0xff, 0x00, 0x80], Some("a.py")), Treatment::Sidecar);
        // A binary extension with unrecognised bytes still follows the extension.
        assert_eq!(
            detect(&[1, 2, 3, 0xff], Some("x.mp4")).content_type,
            "video/mp4"
        );
    }
}
