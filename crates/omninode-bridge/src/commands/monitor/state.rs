//! What a monitor keeps between rounds (the last checkpoint it verified, in `--state`), written
//! atomically so a killed monitor resumes exactly; and the evidence it writes when the log
//! does not extend it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

const FILE: &str = "state.json";

/// The last verified checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct State {
    /// The log's origin.
    pub(super) origin: String,
    /// Its tree size.
    pub(super) size: u64,
    /// The signed checkpoint note, as fetched.
    pub(super) checkpoint: String,
}

pub(super) fn load(dir: &Path) -> anyhow::Result<Option<State>> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a monitor's state", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a synced temporary file renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a file in a directory")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).ok();
    Ok(())
}

pub(super) fn save(dir: &Path, state: &State) -> anyhow::Result<()> {
    write_atomic(
        &dir.join(FILE),
        &serde_json::to_vec_pretty(state).expect("state serialises"),
    )
}

/// Writes the evidence of an inconsistency: both checkpoints, why, and the tiles that disprove
/// consistency, under `DIR/evidence-<time>/`; its path.
pub(super) fn evidence(
    dir: &Path,
    kept: &str,
    seen: &str,
    why: &str,
    tiles: &[(String, Vec<u8>)],
) -> anyhow::Result<PathBuf> {
    let at = dir.join(format!(
        "evidence-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    std::fs::create_dir_all(&at).with_context(|| format!("cannot create {}", at.display()))?;
    write_atomic(&at.join("kept.checkpoint"), kept.as_bytes())?;
    write_atomic(&at.join("seen.checkpoint"), seen.as_bytes())?;
    write_atomic(&at.join("why.txt"), format!("{why}\n").as_bytes())?;
    for (path, bytes) in tiles {
        let file = at.join(path);
        std::fs::create_dir_all(file.parent().expect("tile paths have a directory"))?;
        write_atomic(&file, bytes)?;
    }
    Ok(at)
}
