//! `monitor` (SPEC §14): audits a log from its tiles and trusts the service for nothing. Each
//! round: the checkpoint, its signature (and quorum, with a policy); consistency with the kept
//! checkpoint proven from tiles this monitor fetches and authenticates itself; the new entry
//! bundles, every entry hashed against its authenticated leaf, read, and its signature checked
//! on all cores; the watched namespaces' entries reported; the state saved atomically.
//! Exit: 0 clean, 1 alerts, 3 inconsistent (evidence in `--state`), 2 usage or unreachable.

mod fetch;
mod state;

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_core::monitor::{
    check_entry, leaf_hash, parse_entry, tiles_for, verify_from_tiles, EntryVerdict, Inconsistency,
    TreeHead,
};
use bridge_core::signature::Keyring;
use bridge_core::tlog::{LogVerifier, TilePath, VerifiedCheckpoint, TILE_WIDTH};
use bridge_core::witness::{empty_root, Policy};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{MonitorArgs, MonitorFormat};
use fetch::{FetchError, Fetcher};
use state::State;

/// Exit code of an inconsistent log.
const INCONSISTENT: u8 = 3;
/// Largest checkpoint note read (a note with many post-quantum cosignatures fits).
const MAX_CHECKPOINT: usize = 256 * 1024;
/// A hash tile: 256 hashes of 32 bytes.
const MAX_TILE: usize = 256 * 32;
/// An entry bundle: 256 entries of at most 65,535 bytes, each with its 2-byte length.
const MAX_BUNDLE: usize = 256 * (2 + 65_535);
/// Entries checked per window: tiles, bundles and results of one window are in memory at once.
const WINDOW: u64 = 64 * TILE_WIDTH;

/// How a round ended badly.
enum Failure {
    /// The log does not extend what was kept: evidence written.
    Inconsistent(String),
    /// The log could not be read, or served data that does not check out.
    Unusable(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Unusable(e)
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Self {
        Failure::Unusable(e.into())
    }
}

struct Monitor {
    args: MonitorArgs,
    log: LogVerifier,
    policy: Option<Policy>,
    trust: Option<Keyring>,
    watched: HashSet<String>,
    fetch: Fetcher,
}

pub(crate) async fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let log = super::verify::read_log_key(&args.log_key)?;
    let policy = args
        .policy
        .as_deref()
        .map(super::witness::read_policy)
        .transpose()?;
    let trust = match &args.trust {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(Keyring::from_allowed_signers(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    for ns in &args.namespaces {
        bridge_core::Namespace::parse(ns).map_err(|e| anyhow::anyhow!("--namespace: {e}"))?;
    }
    std::fs::create_dir_all(&args.state)
        .with_context(|| format!("cannot create {}", args.state.display()))?;
    let m = Monitor {
        fetch: Fetcher::new(&args.log, args.timeout)?,
        watched: args.namespaces.iter().cloned().collect(),
        log,
        policy,
        trust,
        args,
    };
    let mut alerted = false;
    loop {
        match m.round().await {
            Ok(alerts) => alerted |= alerts > 0,
            Err(Failure::Inconsistent(why)) => {
                eprintln!("INCONSISTENT: {why}");
                return Ok(ExitCode::from(INCONSISTENT));
            }
            Err(Failure::Unusable(e)) if !m.args.follow => return Err(e),
            Err(Failure::Unusable(e)) => {
                eprintln!("error: {e:#} (next round in {:?})", m.args.interval)
            }
        }
        if !m.args.follow {
            break;
        }
        tokio::time::sleep(m.args.interval).await;
    }
    Ok(if alerted {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

impl Monitor {
    /// One line of the report. A closed stdout (`| head`) fails the round: its state is
    /// not saved, so nothing reported is lost.
    fn emit(&self, line: serde_json::Value, text: String) -> Result<(), Failure> {
        use std::io::Write;
        let out = match self.args.format {
            MonitorFormat::Json => line.to_string(),
            MonitorFormat::Text => text,
        };
        writeln!(std::io::stdout().lock(), "{out}")
            .map_err(|e| Failure::Unusable(anyhow::anyhow!("cannot write the report: {e}")))
    }

    fn alert(&self, kind: &str, index: u64, detail: &str) -> Result<(), Failure> {
        self.emit(
            json!({"alert": kind, "index": index, "detail": detail}),
            format!("ALERT {kind} index {index}: {detail}"),
        )
    }

    /// The log's checkpoint now, verified (and its quorum met, with a policy).
    async fn checkpoint(&self) -> Result<(String, VerifiedCheckpoint), Failure> {
        let bytes = self.fetch.get("checkpoint", MAX_CHECKPOINT).await?;
        let note = String::from_utf8(bytes).context("the checkpoint is not UTF-8")?;
        let cp = self.log.verify(&note).context("the checkpoint")?;
        if let Some(p) = &self.policy {
            let w = p
                .verify(&note, Some(&self.log))
                .context("the checkpoint's cosignatures")?;
            if !w.quorum_met {
                return Err(Failure::Unusable(anyhow::anyhow!(
                    "the checkpoint of {} entries does not meet the policy's quorum {}",
                    cp.size,
                    p.quorum_name()
                )));
            }
        }
        Ok((note, cp))
    }

    /// One round; the number of alerts.
    async fn round(&self) -> Result<usize, Failure> {
        let (note, cp) = self.checkpoint().await?;
        let seen = TreeHead {
            size: cp.size,
            root: cp.root,
        };
        let kept_state = state::load(&self.args.state)?;
        if let Some(s) = &kept_state {
            if s.origin != self.log.name() {
                return Err(Failure::Unusable(anyhow::anyhow!(
                    "--state holds a checkpoint of {}, not of {}",
                    s.origin,
                    self.log.name()
                )));
            }
        }
        let (kept_note, kept) = match &kept_state {
            Some(s) => {
                let c = self
                    .log
                    .verify(&s.checkpoint)
                    .context("the checkpoint kept in --state")?;
                (
                    s.checkpoint.clone(),
                    TreeHead {
                        size: c.size,
                        root: c.root,
                    },
                )
            }
            None if self.args.from_now => {
                self.save(&note, &cp)?;
                eprintln!("monitor: starting at the checkpoint of {} entries", cp.size);
                return Ok(0);
            }
            None => (
                String::new(),
                TreeHead {
                    size: 0,
                    root: empty_root(),
                },
            ),
        };
        let mut alerts = 0;
        let mut start = kept.size;
        // Nothing new, or a tree that cannot extend ours: told before any tile is read.
        if let Err(e) = tiles_for(&kept, &seen, seen.size..seen.size) {
            return Err(self.inconsistent(&kept_note, &note, e, &[])?);
        }
        let bar = progress(seen.size - kept.size);
        while start < seen.size {
            let end = (start + WINDOW).min(seen.size);
            alerts += self
                .window(&kept, &seen, start..end, &kept_note, &note)
                .await?;
            bar.inc(end - start);
            start = end;
        }
        bar.finish_and_clear();
        if let Some(w) = &self.args.witness {
            self.compare_witness(w, &note, &seen).await?;
        }
        self.save(&note, &cp)?;
        eprintln!(
            "monitor: checkpoint of {} entries verified; {} new entries audited; {alerts} alerts",
            seen.size,
            seen.size - kept.size
        );
        Ok(alerts)
    }

    fn save(&self, note: &str, cp: &VerifiedCheckpoint) -> Result<(), Failure> {
        state::save(
            &self.args.state,
            &State {
                origin: self.log.name().to_owned(),
                size: cp.size,
                checkpoint: note.to_owned(),
            },
        )
        .map_err(Failure::Unusable)
    }

    /// A fork (or a log that serves entries not in its tree): evidence, then the failure.
    fn inconsistent(
        &self,
        kept: &str,
        seen: &str,
        why: impl std::fmt::Display,
        tiles: &[(String, Vec<u8>)],
    ) -> Result<Failure, Failure> {
        let why = why.to_string();
        let at = state::evidence(&self.args.state, kept, seen, &why, tiles)?;
        // The evidence is written; the report line is best effort.
        let _ = self.emit(
            json!({"alert": "INCONSISTENT", "detail": why, "evidence": at}),
            format!("ALERT INCONSISTENT: {why} (evidence in {})", at.display()),
        );
        Ok(Failure::Inconsistent(format!(
            "{why}; evidence in {}",
            at.display()
        )))
    }

    /// Entries `range` of the tree `seen`: proven from tiles, read from bundles, checked.
    async fn window(
        &self,
        kept: &TreeHead,
        seen: &TreeHead,
        range: std::ops::Range<u64>,
        kept_note: &str,
        seen_note: &str,
    ) -> Result<usize, Failure> {
        let paths: Vec<String> = tiles_for(kept, seen, range.clone())
            .map_err(|e| Failure::Unusable(e.into()))?
            .iter()
            .map(TilePath::to_string)
            .collect();
        let tiles = self.fetch.many(paths, MAX_TILE).await?;
        let leaves = match verify_from_tiles(kept, seen, range.clone(), &tiles) {
            Ok(l) => l,
            Err(e @ Inconsistency::BadTiles(_)) | Err(e @ Inconsistency::TooLarge(_)) => {
                return Err(Failure::Unusable(anyhow::anyhow!(
                    "the log's tiles do not check out: {e}"
                )))
            }
            Err(e) => {
                let mut tiles: Vec<(String, Vec<u8>)> = tiles.into_iter().collect();
                tiles.sort();
                return Err(self.inconsistent(kept_note, seen_note, e, &tiles)?);
            }
        };
        let entries = self.bundles(seen.size, range.clone()).await?;
        // Every entry must be the leaf the authenticated tiles hold.
        for (i, (e, leaf)) in entries.iter().zip(&leaves).enumerate() {
            if leaf_hash(e) != *leaf {
                let index = range.start + i as u64;
                return Err(self.inconsistent(
                    kept_note,
                    seen_note,
                    format!("entry {index} of the bundles is not the entry the tree holds"),
                    &[],
                )?);
            }
        }
        // Read and check the entries on all cores; report in log order.
        let checked: Vec<_> = entries
            .par_iter()
            .map(|e| {
                parse_entry(e).map(|p| {
                    // Without --trust every signature is still checked; no key is untrusted.
                    let v = match (
                        &self.trust,
                        check_entry(&p, self.trust.as_ref().unwrap_or(&Keyring::default())),
                    ) {
                        (None, EntryVerdict::UntrustedKey) => EntryVerdict::Trusted,
                        (_, v) => v,
                    };
                    (p, v)
                })
            })
            .collect();
        let mut alerts = 0;
        for (i, c) in checked.into_iter().enumerate() {
            let index = range.start + i as u64;
            match c {
                Err(e) => {
                    alerts += 1;
                    self.alert("MALFORMED_ENTRY", index, &e.to_string())?;
                }
                Ok((p, verdict)) => {
                    match &verdict {
                        EntryVerdict::Trusted => {}
                        EntryVerdict::UntrustedKey => {
                            alerts += 1;
                            self.alert(
                                "UNTRUSTED_KEY",
                                index,
                                &format!("namespace {} signed by {}", p.namespace, p.key),
                            )?;
                        }
                        EntryVerdict::SignatureInvalid(why) => {
                            alerts += 1;
                            self.alert(
                                "SIGNATURE_INVALID",
                                index,
                                &format!("namespace {}: {why}", p.namespace),
                            )?;
                        }
                    }
                    if self.watched.contains(&p.namespace) {
                        let path = p.file_path.as_deref().unwrap_or("-");
                        self.emit(
                            json!({"index": index, "namespace": p.namespace, "path": p.file_path,
                                   "file_hash": p.file_hash, "key": p.key, "created_at": p.created_at}),
                            format!(
                                "{index} {} {path} {} {} {}",
                                p.namespace, p.file_hash, p.key, p.created_at
                            ),
                        )?;
                    }
                }
            }
        }
        Ok(alerts)
    }

    /// The entries `range` of a tree of `size`, from its bundles.
    async fn bundles(
        &self,
        size: u64,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        let first = range.start / TILE_WIDTH;
        let last = (range.end - 1) / TILE_WIDTH;
        let paths: Vec<(u64, String)> = (first..=last)
            .map(|n| {
                let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
                let p = TilePath {
                    level: None,
                    index: n,
                    partial: (width < TILE_WIDTH).then(|| u8::try_from(width).expect("< 256")),
                };
                (width, p.to_string())
            })
            .collect();
        let fetched = self
            .fetch
            .many(paths.iter().map(|(_, p)| p.clone()).collect(), MAX_BUNDLE)
            .await?;
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        for (k, (width, path)) in paths.iter().enumerate() {
            let entries =
                unbundle(&fetched[path], *width).with_context(|| format!("the log's {path}"))?;
            let base = (first + k as u64) * TILE_WIDTH;
            for (j, e) in entries.into_iter().enumerate() {
                if range.contains(&(base + j as u64)) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// A witness's view of the log (its cosigned checkpoint) must be consistent with ours.
    async fn compare_witness(&self, url: &str, note: &str, seen: &TreeHead) -> Result<(), Failure> {
        let hash = bridge_store::witness::origin_hash(self.log.name());
        let w = self.fetch.at(url);
        let bytes = w.get(&format!("{hash}/checkpoint"), MAX_CHECKPOINT).await?;
        let theirs = String::from_utf8(bytes).context("the witness's checkpoint is not UTF-8")?;
        let wc = self
            .log
            .verify(&theirs)
            .context("the witness's checkpoint is not signed by the log")?;
        let wh = TreeHead {
            size: wc.size,
            root: wc.root,
        };
        if wh.size > seen.size {
            eprintln!(
                "monitor: the witness has seen {} entries, the log shows {}: compared when the log catches up",
                wh.size, seen.size
            );
            return Ok(());
        }
        let split = |e| self.inconsistent(&theirs, note, format!("the witness's view: {e}"), &[]);
        let paths: Vec<String> = match tiles_for(&wh, seen, seen.size..seen.size) {
            Ok(p) => p.iter().map(TilePath::to_string).collect(),
            Err(e) => return Err(split(e)?),
        };
        let tiles = self.fetch.many(paths, MAX_TILE).await?;
        match verify_from_tiles(&wh, seen, seen.size..seen.size, &tiles) {
            Ok(_) => Ok(()),
            Err(e) if e.is_fork() => Err(split(e)?),
            Err(e) => Err(Failure::Unusable(anyhow::anyhow!("the log's tiles: {e}"))),
        }
    }
}

/// A progress bar on a terminal for an audit of more than one window; hidden otherwise (a
/// pipe, CI, a short round).
fn progress(entries: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if entries <= WINDOW || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(entries);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} entries audited, {per_sec}, {eta} left",
        )
        .expect("a valid template"),
    );
    bar
}

/// Splits an entry bundle into exactly `width` entries.
fn unbundle(mut b: &[u8], width: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 2 {
            bail!("a bundle ends inside an entry's length");
        }
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        if b.len() < 2 + n {
            bail!("a bundle ends inside an entry");
        }
        out.push(b[2..2 + n].to_vec());
        b = &b[2 + n..];
        if out.len() as u64 > width {
            bail!("a bundle of more than {width} entries");
        }
    }
    if out.len() as u64 != width {
        bail!("a bundle of {} entries, not {width}", out.len());
    }
    Ok(out)
}
