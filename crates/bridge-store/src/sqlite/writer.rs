//! The single SQLite writer. SQLite allows one writer at a time, so instead of many
//! connections contending for the lock, one thread owns the writes and commits the units of
//! work of all concurrent requests together (group commit): one fsync for many stamps, each
//! reply sent only after its transaction is durable.
//!
//! Group commits go through a direct `rusqlite` connection on the writer's own thread, not
//! through sqlx: sqlx runs every statement as a round trip to its worker thread and copies
//! every bound value, which made the batch's inserts (19 rows a stamp) cost ~210 µs a stamp,
//! twice the fsync, on the serial path that bounds `/stamp` (measured in `benches/store.rs`
//! and `scripts/bench`). Everything else the writer does (outbox, reducer, registry) is rare
//! and stays on the sqlx connection, on the same thread, so the two never hold the lock at once.

use std::collections::HashSet;

use bridge_core::tlog::LogSigner;
use rusqlite::TransactionBehavior;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::mpsc;

use super::rows::stamp_from_row;
use super::sql;
use crate::batch::{self, Done, Job};
use crate::{Result, StampOutcome, StoreError};

/// How many units of work may wait for the writer (back-pressure beyond that).
pub(super) const QUEUE_DEPTH: usize = 4096;
/// Most units of work committed in one transaction.
const MAX_BATCH: usize = 256;
/// A group commit slower than this (ms) is logged at debug level.
const SLOW_COMMIT_MS: f64 = 20.0;

/// Work that is not a stamp or a workflow: runs alone on the writer connection (after the
/// group commit of the jobs that arrived with it) and sends its own reply.
#[async_trait::async_trait]
pub(super) trait Exclusive: Send {
    /// Does the work; `conn` is outside any transaction.
    async fn run(self: Box<Self>, conn: &mut SqliteConnection);
}

/// What the writer's queue carries.
pub(super) enum Work {
    /// Group-committed with the other jobs of its batch.
    Job(Job),
    /// Run alone.
    Exclusive(Box<dyn Exclusive>),
}

impl From<Job> for Work {
    fn from(job: Job) -> Self {
        Work::Job(job)
    }
}

/// The writer's two connections to one database.
pub(super) struct Connections {
    /// Group commits.
    pub(super) direct: rusqlite::Connection,
    /// Exclusive work and reads of the write path.
    pub(super) sqlx: SqliteConnection,
    /// Signs a checkpoint per group commit that logs entries; `None`: no log.
    pub(super) log: Option<std::sync::Arc<LogSigner>>,
}

/// Starts the writer on a thread of its own with a single-threaded runtime: its work is a
/// serial chain (insert, fsync, answer) that must not queue behind the HTTP tasks.
pub(super) fn spawn(conns: Connections, rx: mpsc::Receiver<Work>) -> Result<()> {
    let cannot =
        |e: std::io::Error| StoreError::Unavailable(format!("cannot start the writer: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(cannot)?;
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || runtime.block_on(run(conns, rx)))
        .map_err(cannot)?;
    Ok(())
}

/// Runs until every sender is gone.
async fn run(mut conns: Connections, mut rx: mpsc::Receiver<Work>) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut exclusive = Vec::new();
    while rx.recv_many(&mut received, MAX_BATCH).await > 0 {
        for work in received.drain(..) {
            match work {
                Work::Job(job) => batch.push(job),
                Work::Exclusive(e) => exclusive.push(e),
            }
        }
        commit(&mut conns, &mut batch).await;
        for e in exclusive.drain(..) {
            let started = std::time::Instant::now();
            e.run(&mut conns.sqlx).await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if ms > SLOW_COMMIT_MS {
                tracing::debug!(ms, "slow exclusive work");
            }
        }
    }
    let _ = conns.sqlx.close().await;
}

/// Group-commits `batch` (emptying it) and answers every job.
async fn commit(conns: &mut Connections, batch: &mut Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let jobs: Vec<&Job> = batch.iter().collect();
    let log = conns.log.clone();
    let started = std::time::Instant::now();
    let written = write(&mut conns.direct, &jobs, log.as_deref());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if ms > SLOW_COMMIT_MS {
        // The timeline of stalls (docs/benchmarks.md) is read from these with RUST_LOG=debug.
        tracing::debug!(ms, jobs = jobs.len(), "slow group commit");
    }
    match written {
        Ok((inserted, logged)) => {
            answer(&mut conns.sqlx, std::mem::take(batch), &inserted, &logged).await
        }
        Err(e) if batch.len() == 1 => batch.pop().expect("one job").reply(Err(e)),
        Err(e) => {
            // One bad unit must not fail its neighbours: redo them one by one.
            tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying individually");
            for job in std::mem::take(batch) {
                match write(&mut conns.direct, &[&job], log.as_deref()) {
                    Ok((inserted, logged)) => {
                        answer(&mut conns.sqlx, vec![job], &inserted, &logged).await
                    }
                    Err(e) => job.reply(Err(e)),
                }
            }
        }
    }
}

/// Writes `jobs` in one durable transaction; returns the ids of the stamps inserted (a
/// duplicate of a stored `(namespace, file_hash)` writes nothing).
fn write(
    conn: &mut rusqlite::Connection,
    jobs: &[&Job],
    log: Option<&LogSigner>,
) -> Result<(HashSet<uuid::Uuid>, batch::Logged)> {
    // IMMEDIATE: take the write lock up front rather than failing on upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stamps = batch::stamps(jobs);
    let mut inserted = HashSet::with_capacity(stamps.len());
    for s in stamps {
        if sql::insert_stamp(&tx, s)? {
            inserted.insert(s.stamp_id);
        }
    }
    let (workflows, events) = batch::dependents(jobs, &inserted);
    for w in workflows {
        sql::insert_workflow(&tx, w)?;
    }
    sql::insert_events(&tx, events)?;
    let logged = match log {
        Some(signer) => sql::append_log(&tx, &batch::entries(jobs, &inserted), signer)?,
        None => batch::Logged::new(),
    };
    // Dropping an uncommitted transaction rolls it back.
    tx.commit()?;
    Ok((inserted, logged))
}

/// Answers the jobs of a committed batch; a duplicate gets the stored stamp of its content.
async fn answer(
    conn: &mut SqliteConnection,
    jobs: Vec<Job>,
    inserted: &HashSet<uuid::Uuid>,
    logged: &batch::Logged,
) {
    let refs: Vec<&Job> = jobs.iter().collect();
    let mut results = Vec::with_capacity(jobs.len());
    for reply in batch::replies(&refs, inserted, logged) {
        results.push(match reply {
            batch::Reply::Ready(d) => Ok(d),
            batch::Reply::Existing(s) => existing(conn, s).await,
        });
    }
    for (job, result) in jobs.into_iter().zip(results) {
        job.reply(result);
    }
}

/// The committed stamp of `s`'s `(namespace, file_hash)`.
async fn existing(conn: &mut SqliteConnection, s: &crate::StampRecord) -> Result<Done> {
    let row = sqlx::query(concat!(
        super::rows::stamp_select!(),
        " WHERE s.namespace = ? AND s.file_hash = ?"
    ))
    .bind(&s.namespace)
    .bind(&s.file_hash)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Done::Stamp(Box::new(StampOutcome::Existing(
        stamp_from_row(&row)?,
    ))))
}
