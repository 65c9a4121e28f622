//! Stamps below the first lines that real tools read only at the top (SPEC §3), each checked
//! with that tool's own rule, in Python (scripts/python-tools' venv): the coding cookie by
//! Python's own tokenizer and parser, front matter by a YAML/TOML parser as Jekyll and Hugo
//! read it, Dockerfile parser directives by BuildKit's rule, a mode line by its line number.
//! Each stamped file also verifies, and unstamps to the original byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{bin, python, write_file};

/// Runs a Python snippet on files; its stdout.
fn py(script: &str, args: &[&Path]) -> String {
    let o = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Stamps `name` (holding `original`) in place with the CLI; the original is kept as
/// `name.orig`. Checks that the stamp verifies and unstamps to the original.
fn stamped(dir: &Path, name: &str, original: &[u8]) -> (PathBuf, PathBuf) {
    write_file(dir, name, original);
    write_file(dir, &format!("{name}.orig"), original);
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let o = run(&["stamp", name, "--namespace", "tools", "--in-place"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stamped = std::fs::read(dir.join(name)).unwrap();
    assert_ne!(stamped, original, "{name} was not stamped in place");
    let o = run(&["verify", name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["unstamp", name]);
    assert!(o.status.success());
    assert_eq!(
        o.stdout, original,
        "{name} does not unstamp to its original"
    );
    (dir.join(name), dir.join(format!("{name}.orig")))
}

#[test]
fn a_python_coding_cookie_still_decides_the_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let check = "import ast, io, sys, tokenize\n\
        a, b = (open(p, 'rb').read() for p in sys.argv[1:])\n\
        enc = tokenize.detect_encoding(io.BytesIO(b).readline)[0]\n\
        assert ast.dump(ast.parse(a)) == ast.dump(ast.parse(b)), 'the stamped file parses differently'\n\
        print(enc)";
    // Latin-1 bytes: read as UTF-8 (a cookie pushed below line 2) they do not even decode.
    for (name, original) in [
        (
            "cookie.py",
            &b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nprint(name)\n"[..],
        ),
        (
            "shebang.py",
            &b"#!/usr/bin/env python3\n# vim: set fileencoding=latin-1 :\nprint('\xe9')\n"[..],
        ),
    ] {
        let (stamped, orig) = stamped(dir.path(), name, original);
        assert_eq!(py(check, &[&orig, &stamped]).trim(), "iso-8859-1", "{name}");
    }
}

#[test]
fn front_matter_stays_where_jekyll_and_hugo_read_it() {
    let dir = tempfile::tempdir().unwrap();
    // Jekyll's rule: the file starts with a `---` line, the front matter runs to the next
    // `---` line. Hugo's TOML form: `+++` lines.
    let check = "import sys, tomllib, yaml\n\
        def front(p):\n\
        \x20   text = open(p, encoding='utf-8').read()\n\
        \x20   fence = text.split('\\n', 1)[0]\n\
        \x20   assert fence in ('---', '+++'), 'no front matter on the first line: ' + repr(text[:40])\n\
        \x20   body = text.split('\\n', 1)[1].split('\\n' + fence + '\\n', 1)[0]\n\
        \x20   return yaml.safe_load(body) if fence == '---' else tomllib.loads(body)\n\
        a, b = (front(p) for p in sys.argv[1:])\n\
        assert a == b, (a, b)\n\
        print(sorted(a))";
    let (stamped_md, orig) = stamped(
        dir.path(),
        "page.md",
        b"---\ntitle: Hello\ntags: [a, b]\n---\n# Body\n\nText.\n",
    );
    assert_eq!(py(check, &[&orig, &stamped_md]).trim(), "['tags', 'title']");
    let text = std::fs::read_to_string(&stamped_md).unwrap();
    assert!(
        text.starts_with("---\ntitle: Hello\ntags: [a, b]\n---\n<!-- ONEX STAMP BEGIN\n"),
        "{text}"
    );
    let (stamped_toml, orig) = stamped(
        dir.path(),
        "post.md",
        b"+++\ntitle = 'Hello'\ndraft = false\n+++\nBody\n",
    );
    assert_eq!(
        py(check, &[&orig, &stamped_toml]).trim(),
        "['draft', 'title']"
    );
}

#[test]
fn dockerfile_parser_directives_stay_directives() {
    let dir = tempfile::tempdir().unwrap();
    // BuildKit's rule: directives are the leading `# name=value` lines; the first other line
    // (a comment, a blank line, an instruction) ends them.
    let check = "import re, sys\n\
        def directives(p):\n\
        \x20   found = {}\n\
        \x20   for line in open(p, encoding='utf-8').read().split('\\n'):\n\
        \x20       m = re.match(r'^#[ \\t]*([a-zA-Z][a-zA-Z0-9]*)[ \\t]*=[ \\t]*(.+?)[ \\t]*$', line)\n\
        \x20       if not m or m.group(1).lower() not in ('syntax', 'escape', 'check'):\n\
        \x20           break\n\
        \x20       found[m.group(1).lower()] = m.group(2)\n\
        \x20   return found\n\
        a, b = (directives(p) for p in sys.argv[1:])\n\
        assert a == b, (a, b)\n\
        print(sorted(a.items()))";
    let (stamped, orig) = stamped(
        dir.path(),
        "Dockerfile",
        b"# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine:3\nRUN echo hi\n",
    );
    assert_eq!(
        py(check, &[&orig, &stamped]).trim(),
        "[('escape', '`'), ('syntax', 'docker/dockerfile:1')]"
    );
}

#[test]
fn a_first_line_mode_line_stays_first() {
    let dir = tempfile::tempdir().unwrap();
    for (name, original) in [
        ("run.sh", &b"# vim: set ts=2 sw=2 :\necho hi\n"[..]),
        (
            "mode.py",
            &b"# -*- mode: python; indent-tabs-mode: nil -*-\nprint(1)\n"[..],
        ),
    ] {
        let (stamped, _) = stamped(dir.path(), name, original);
        let text = std::fs::read(&stamped).unwrap();
        let first = original.split(|b| *b == b'\n').next().unwrap();
        assert!(
            text.starts_with(first),
            "{name}: {}",
            String::from_utf8_lossy(&text)
        );
    }
}
