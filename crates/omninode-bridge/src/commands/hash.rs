//! `hash`: b3sum-compatible output (`<64 hex>  <path>`) and `--check`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::cli::HashArgs;

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
            Ok(h) => println!("{}  {}", h.to_hex(), path.display()),
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
    let mut failures = 0usize;
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", sums.display()))?;
        if line.is_empty() {
            continue;
        }
        let Some((hex, path)) = line.split_once("  ") else {
            bail!("{}:{}: expected '<64 hex>  <path>'", sums.display(), n + 1);
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("{}:{}: not a BLAKE3 hex digest", sums.display(), n + 1);
        }
        match hash_path(Path::new(path)) {
            Ok(h) if h.to_hex().eq_ignore_ascii_case(hex) => println!("{path}: OK"),
            Ok(_) => {
                println!("{path}: FAILED");
                failures += 1;
            }
            Err(e) => {
                println!("{path}: FAILED ({e:#})");
                failures += 1;
            }
        }
    }
    if failures > 0 {
        eprintln!("omninode-bridge: WARNING: {failures} computed checksum(s) did NOT match");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
