//! `hash`: b3sum-compatible output (`<64 hex>  <path>`, names escaped as `b3sum` does) and
//! `--check`, which reads `b3sum`'s lines (see `sumline`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::HashArgs;
use crate::sumline;

/// BLAKE3 of a file (memory-mapped and multi-threaded for large files) or of stdin (`-`).
pub(crate) fn hash_path(path: &Path) -> anyhow::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if path.as_os_str() == "-" {
        hasher
            .update_reader(std::io::stdin().lock())
            .context("reading stdin")?;
    } else {
        hasher
            .update_mmap_rayon(path)
            .with_context(|| format!("{}", path.display()))?;
    }
    Ok(hasher.finalize())
}

pub(crate) fn run(args: HashArgs) -> anyhow::Result<ExitCode> {
    if let Some(sums) = args.check {
        return check(&sums);
    }
    let mut failed = false;
    for path in &args.files {
        match hash_path(path) {
            Ok(h) => println!("{}", sumline::line(&h.to_hex(), path)),
            Err(e) => {
                eprintln!("omninode-bridge: {e:#}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn check(sums: &Path) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if sums.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            File::open(sums).with_context(|| format!("{}", sums.display()))?,
        ))
    };
    // As b3sum: a line that names no file is reported and counted as a failure, and the
    // check goes on with the next line.
    let mut failures = 0usize;
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", sums.display()))?;
        let entry = match sumline::parse(&line) {
            Ok(entry) => entry,
            Err(e) => {
                eprintln!("omninode-bridge: {}:{}: {e}", sums.display(), n + 1);
                failures += 1;
                continue;
            }
        };
        let shown = &entry.shown;
        match hash_path(&entry.path) {
            Ok(h) if h.to_hex().as_str() == entry.hex => println!("{shown}: OK"),
            Ok(_) => {
                println!("{shown}: FAILED");
                failures += 1;
            }
            Err(e) => {
                println!("{shown}: FAILED ({e:#})");
                failures += 1;
            }
        }
    }
    if failures > 0 {
        let s = if failures == 1 { "" } else { "s" };
        eprintln!("omninode-bridge: WARNING: {failures} computed checksum{s} did NOT match");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
