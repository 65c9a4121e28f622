//! `stamp`: offline stamping. Prints the stamped content (or the sidecar), or with
//! `--in-place` rewrites each file atomically (temp file + rename) / writes `FILE.onex-stamp`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_core::stamp::{self, Original, StampRequest, SIDECAR_SUFFIX};
use bridge_core::{Namespace, RelativePath, StampType};
use chrono::Utc;
use uuid::Uuid;

use crate::cli::{StampArgs, StampKind};
use crate::keyfiles;

pub(crate) fn run(args: StampArgs) -> anyhow::Result<ExitCode> {
    let namespace = Namespace::parse(&args.namespace).context("--namespace")?;
    if args.files.len() > 1 && !args.in_place {
        bail!("stamping several files to stdout would mix them: pass --in-place");
    }
    let stamp_type = match args.kind {
        StampKind::Rich => StampType::Rich,
        StampKind::Lightweight => StampType::Lightweight,
    };
    let signer = args
        .key
        .as_deref()
        .map(keyfiles::read_private)
        .transpose()?
        .map(|k| k.signer);
    if let Some(s) = &signer {
        eprintln!("signing with {}", s.id());
    }
    for path in &args.files {
        let content = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        let file_path = stamp_path(path);
        let original = Original::of(&content);
        let made = stamp::stamp(
            &original,
            &StampRequest {
                namespace: namespace.as_str(),
                file_path: file_path.as_ref().map(RelativePath::as_str),
                stamp_type,
                stamp_id: Uuid::now_v7(),
                now: Utc::now(),
                signer: signer.as_ref(),
            },
        )
        .with_context(|| format!("{}", path.display()))?;
        match (made.stamped, args.in_place) {
            (Some(bytes), true) => write_atomic(path, &bytes)?,
            (None, true) => write_atomic(&sidecar_path(path), made.stamp_text.as_bytes())?,
            (Some(bytes), false) => std::io::stdout().write_all(&bytes)?,
            (None, false) => std::io::stdout().write_all(made.stamp_text.as_bytes())?,
        }
        if args.in_place {
            eprintln!("stamped {} ({})", path.display(), made.kind.content_type);
        }
    }
    match &signer {
        None => eprintln!("note: no --key given: these stamps are UNSIGNED (integrity only)"),
        Some(_) if stamp_type == StampType::Lightweight => eprintln!(
            "note: a lightweight line carries no signature: text files got UNSIGNED stamps (use --type rich)"
        ),
        Some(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The `file_path` recorded in the stamp: the path as given if it is a valid relative path,
/// else the file name.
fn stamp_path(path: &Path) -> Option<RelativePath> {
    let s = path.to_string_lossy();
    RelativePath::parse(s.strip_prefix("./").unwrap_or(&s))
        .ok()
        .or_else(|| {
            path.file_name()
                .and_then(|n| RelativePath::parse(&n.to_string_lossy()).ok())
        })
}

/// `FILE.onex-stamp` next to `FILE`.
pub(crate) fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(SIDECAR_SUFFIX);
    PathBuf::from(s)
}

/// Replaces `path` with `bytes` so that a reader sees either the old or the new file, never
/// a half-written one; keeps the file's permissions.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
