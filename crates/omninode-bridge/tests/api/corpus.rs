//! A corpus of real files nobody here wrote, taken at test time from what the machine has (the
//! Python standard library, the system's C headers, the OS's shell scripts, npm's JavaScript,
//! YAML, TOML and Rust files of the cargo registry, SVG and XML under /usr/share; nine kinds,
//! ten files each): each is
//! stamped in place by the CLI, and its own real parser must make of the stamped file what it
//! made of the original (Python's `ast`, `gcc -fsyntax-only`, `bash -n`/`sh -n`,
//! `node --check`, `rustfmt`, PyYAML, `tomllib`, canonical XML without comments). Then
//! `verify` accepts every stamped file and rejects it after one changed byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{bin, python};

/// Files of each kind.
const PER_KIND: usize = 10;
/// Candidates larger than this are passed over (the test stays quick).
const MAX_SIZE: u64 = 256 * 1024;

/// How a kind's parser is asked: the Python checker (one call for many files, a digest of
/// the parse each), or a command whose exit status says whether the file parses.
#[derive(Clone, Copy)]
enum Parser {
    Python(&'static str),
    Command(fn(&Path) -> Command),
}

struct Kind {
    name: &'static str,
    /// The name a copy gets (so that type detection sees the extension, or `Dockerfile`).
    suffix: &'static str,
    candidates: Vec<PathBuf>,
    parser: Parser,
}

/// Files under `dir` (recursively, up to `depth`) whose name ends with `suffix`, sorted.
fn find(dir: &Path, suffix: &str, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() && depth > 0 {
            out.extend(find(&path, suffix, depth - 1));
        } else if meta.is_file()
            && meta.len() > 0
            && meta.len() <= MAX_SIZE
            && path.to_string_lossy().ends_with(suffix)
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Shell scripts of the OS: files in /usr/bin and /usr/sbin whose first line is `shebang`.
fn scripts(shebang: &[u8]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["/usr/bin", "/usr/sbin"]
        .iter()
        .flat_map(|d| find(Path::new(d), "", 0))
        .filter(|p| {
            std::fs::read(p).is_ok_and(|b| {
                b.starts_with(shebang)
                    && b.get(shebang.len())
                        .is_some_and(|c| c.is_ascii_whitespace())
            })
        })
        .collect();
    out.sort();
    out
}

fn kinds() -> Vec<Kind> {
    let home = PathBuf::from(std::env::var("HOME").unwrap());
    let registry = home.join(".cargo/registry/src");
    let stdlib = Command::new(python())
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .unwrap();
    let stdlib = PathBuf::from(String::from_utf8(stdlib.stdout).unwrap().trim());
    vec![
        Kind {
            name: "Python (standard library)",
            suffix: ".py",
            candidates: find(&stdlib, ".py", 0),
            parser: Parser::Python("py"),
        },
        Kind {
            name: "C headers (/usr/include)",
            suffix: ".h",
            candidates: find(Path::new("/usr/include"), ".h", 0),
            parser: Parser::Command(|p| {
                let mut c = Command::new("gcc");
                c.args(["-fsyntax-only", "-x", "c"]).arg(p);
                c
            }),
        },
        Kind {
            name: "shell scripts (/usr/bin, /usr/sbin)",
            suffix: ".sh",
            candidates: [scripts(b"#!/bin/sh"), scripts(b"#!/bin/bash")].concat(),
            // Each by the shell its shebang names.
            parser: Parser::Command(|p| {
                let first = std::fs::read(p).unwrap_or_default();
                let bash = first
                    .split(|b| *b == b'\n')
                    .next()
                    .is_some_and(|l| l.ends_with(b"bash"));
                let mut c = Command::new(if bash { "bash" } else { "sh" });
                c.arg("-n").arg(p);
                c
            }),
        },
        Kind {
            name: "JavaScript (npm)",
            suffix: ".js",
            candidates: find(Path::new("/usr/lib/node_modules/npm/lib"), ".js", 2),
            parser: Parser::Command(|p| {
                let mut c = Command::new("node");
                c.arg("--check").arg(p);
                c
            }),
        },
        Kind {
            name: "Rust (cargo registry)",
            suffix: ".rs",
            candidates: find(&registry, "/src/lib.rs", 3),
            parser: Parser::Command(|p| {
                let mut c = Command::new("rustfmt");
                c.args(["--edition", "2021", "--emit", "stdout", "--quiet"])
                    .arg(p);
                c
            }),
        },
        Kind {
            name: "TOML (cargo registry Cargo.toml)",
            suffix: ".toml",
            candidates: find(&registry, "/Cargo.toml", 2),
            parser: Parser::Python("toml"),
        },
        Kind {
            name: "YAML (cargo registry)",
            suffix: ".yml",
            candidates: find(&registry, ".yml", 4),
            parser: Parser::Python("yaml"),
        },
        Kind {
            name: "SVG (/usr/share)",
            suffix: ".svg",
            candidates: find(Path::new("/usr/share"), ".svg", 4),
            parser: Parser::Python("xml"),
        },
        Kind {
            name: "XML (/usr/share)",
            suffix: ".xml",
            candidates: find(Path::new("/usr/share"), ".xml", 4),
            parser: Parser::Python("xml"),
        },
    ]
}

/// What the parser makes of each file: `Some(digest)` (or `Some("")` for a command that only
/// says yes), `None` if it refuses the file.
fn parse(parser: Parser, files: &[PathBuf]) -> Vec<Option<String>> {
    match parser {
        Parser::Python(mode) => {
            let o = Command::new(python())
                .arg("-c")
                .arg(include_str!("corpus_check.py"))
                .arg(mode)
                .args(files)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let out = String::from_utf8(o.stdout).unwrap();
            let lines: Vec<Option<String>> = out
                .lines()
                .map(|l| l.strip_prefix("ok ").map(str::to_owned))
                .collect();
            assert_eq!(lines.len(), files.len(), "{out}");
            lines
        }
        Parser::Command(make) => files
            .iter()
            .map(|f| {
                let o = make(f)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .unwrap_or_else(|e| panic!("cannot run the parser for {}: {e}", f.display()));
                o.success().then(String::new)
            })
            .collect(),
    }
}

#[test]
fn real_files_still_parse_the_same_when_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for kind in kinds() {
        // The first candidates that their own parser accepts, as copies named for their type.
        let mut picked = Vec::new();
        for chunk in kind.candidates.chunks(4 * PER_KIND) {
            let copies: Vec<PathBuf> = chunk
                .iter()
                .enumerate()
                .map(|(i, src)| {
                    let stem = src.file_name().unwrap().to_string_lossy().replace('.', "_");
                    let copy =
                        dir.path()
                            .join(format!("{}-{i}-{stem}{}", picked.len(), kind.suffix));
                    std::fs::copy(src, &copy).unwrap();
                    copy
                })
                .collect();
            for ((src, copy), parsed) in chunk.iter().zip(&copies).zip(parse(kind.parser, &copies))
            {
                match parsed {
                    Some(p) if picked.len() < PER_KIND => {
                        picked.push((src.clone(), copy.clone(), p))
                    }
                    _ => std::fs::remove_file(copy).unwrap(),
                }
            }
            if picked.len() >= PER_KIND {
                break;
            }
        }
        assert_eq!(
            picked.len(),
            PER_KIND,
            "{}: only {} of {} candidates parse on this machine",
            kind.name,
            picked.len(),
            kind.candidates.len()
        );
        let copies: Vec<PathBuf> = picked.iter().map(|(_, c, _)| c.clone()).collect();
        let o = Command::new(bin())
            .args(["stamp", "--namespace", "corpus", "--in-place"])
            .args(&copies)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            kind.name,
            String::from_utf8_lossy(&o.stderr)
        );
        for ((src, copy, before), after) in picked.iter().zip(parse(kind.parser, &copies)) {
            let stamped = std::fs::read(copy).unwrap();
            assert!(
                stamped
                    .windows(11)
                    .any(|w| w == b"ONEX STAMP-" || w == b"ONEX STAMP "),
                "{}: {} was not stamped in place",
                kind.name,
                src.display()
            );
            // The parsers above ignore a shebang that moved down: check it stayed first.
            let original = std::fs::read(src).unwrap();
            if original.starts_with(b"#!") {
                let line = original.split(|b| *b == b'\n').next().unwrap();
                assert!(
                    stamped.starts_with(line),
                    "{}: {} lost its shebang line",
                    kind.name,
                    src.display()
                );
            }
            assert_eq!(
                after.as_ref(),
                Some(before),
                "{}: {} parses differently once stamped",
                kind.name,
                src.display()
            );
        }
        let o = Command::new(bin())
            .arg("verify")
            .args(&copies)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            kind.name,
            String::from_utf8_lossy(&o.stdout)
        );
        // One changed byte in the original part of each file: verify refuses it.
        for copy in &copies {
            let mut bytes = std::fs::read(copy).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            std::fs::write(copy, &bytes).unwrap();
            let o = Command::new(bin())
                .arg("verify")
                .arg(copy)
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(1),
                "{}: {} still verifies",
                kind.name,
                copy.display()
            );
        }
        report.push(format!("{}: {PER_KIND}", kind.name));
    }
    eprintln!("stamped and parsed: {}", report.join(", "));
}
