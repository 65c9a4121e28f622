//! WAL checkpoints off the writer's path. SQLite's automatic checkpoint runs inside the commit
//! that crosses its threshold: that commit copies the WAL's pages into the database and
//! fsyncs it before it returns, and every reply of its group and of the groups queued behind
//! it waits (the stalls of issue 20: tens of milliseconds, at any load). Here a thread of its
//! own copies pages back every few milliseconds with a PASSIVE checkpoint, which takes no lock
//! a writer needs, so commits go on while it works (and once it has copied everything, the
//! next commit starts the WAL over from its beginning). The writer's own automatic checkpoint
//! stays as the backstop: when it comes, this thread has already copied all but the last few
//! pages, so it is short. Its sync and the writer's no longer wait for each other because
//! SQLite syncs with fdatasync (`.cargo/config.toml`): see docs/benchmarks.md, issue 20.
//! Idle, a checkpoint with nothing to copy reads the WAL index and returns: no write, no sync.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::WeakSender;

use crate::{Result, StoreError};

/// Pause between checkpoints: short, so each one has little to copy.
const EVERY: Duration = Duration::from_millis(10);
/// A checkpoint slower than this (ms) is logged at debug level.
const SLOW_MS: f64 = 20.0;

/// Starts the checkpointer on `path`; it stops once `alive` has no sender left (the store and
/// its writer are gone).
pub(super) fn spawn<T: Send + 'static>(path: &Path, alive: WeakSender<T>) -> Result<()> {
    let conn = super::direct(path)?;
    std::thread::Builder::new()
        .name("sqlite-checkpointer".into())
        .spawn(move || run(&conn, &alive))
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))?;
    Ok(())
}

fn run<T>(conn: &rusqlite::Connection, alive: &WeakSender<T>) {
    while alive.strong_count() > 0 {
        std::thread::sleep(EVERY);
        let started = Instant::now();
        // (busy, frames in the WAL, frames copied); busy only means another checkpoint (the
        // writer's) was running, which is fine: it does the same work.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((frames, copied)) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if ms > SLOW_MS {
                    tracing::debug!(ms, frames, copied, "slow background checkpoint");
                }
            }
            Err(e) => tracing::warn!(error = %e, "background WAL checkpoint failed"),
        }
    }
}
