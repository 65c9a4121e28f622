//! The single SQLite writer. SQLite allows one writer at a time, so instead of many
//! connections contending for the lock, one task owns the write connection and commits the
//! units of work of all concurrent requests together (group commit): one fsync for many
//! stamps, each reply sent only after its transaction is durable.
//!
//! Every statement costs a round trip to sqlx's SQLite worker thread (tens of µs here,
//! measured in `benches/store.rs`), so a batch is written with multi-row INSERTs whose row
//! counts are powers of two: few round trips, and a bounded set of prepared statements.

use std::collections::HashSet;

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, Executor, QueryBuilder, Row};
use tokio::sync::mpsc;

use super::rows::stamp_from_row;
use super::sql::{
    insert_events, insert_stamps, insert_steps, insert_transitions, insert_workflows,
};
use crate::batch::{self, Done, Job};
use crate::{Result, StampOutcome, StepRecord, TransitionRecord, WorkflowRecord};

/// How many units of work may wait for the writer (back-pressure beyond that).
pub(super) const QUEUE_DEPTH: usize = 4096;
/// Most units of work committed in one transaction.
const MAX_BATCH: usize = 256;
/// Largest multi-row INSERT (rows); 256 × 14 parameters stays under SQLite's limit.
const MAX_ROWS_PER_INSERT: usize = 256;

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

/// Runs until every sender is gone.
pub(super) async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Work>) {
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
        commit(&mut conn, &mut batch).await;
        for e in exclusive.drain(..) {
            e.run(&mut conn).await;
        }
    }
    let _ = conn.close().await;
}

/// Group-commits `batch` (emptying it) and answers every job.
async fn commit(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let jobs: Vec<&Job> = batch.iter().collect();
    match apply(conn, &jobs).await {
        Ok(done) => {
            for (job, d) in batch.drain(..).zip(done) {
                job.reply(Ok(d));
            }
        }
        Err(e) if batch.len() == 1 => batch.pop().expect("one job").reply(Err(e)),
        Err(e) => {
            // One bad unit must not fail its neighbours: redo them one by one.
            tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying individually");
            for job in batch.drain(..) {
                let result = apply(conn, &[&job]).await.map(|mut d| d.remove(0));
                job.reply(result);
            }
        }
    }
}

async fn apply(conn: &mut SqliteConnection, jobs: &[&Job]) -> Result<Vec<Done>> {
    // IMMEDIATE: take the write lock up front rather than failing on upgrade.
    conn.execute("BEGIN IMMEDIATE").await?;
    match apply_in_tx(conn, jobs).await {
        Ok(done) => match conn.execute("COMMIT").await {
            Ok(_) => Ok(done),
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Splits `n` rows into power-of-two chunks (e.g. 200 → 128, 64, 8).
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= MAX_ROWS_PER_INSERT {
            MAX_ROWS_PER_INSERT
        } else {
            1 << n.ilog2()
        };
        n -= size;
        Some(size)
    })
}

/// Inserts `rows` with power-of-two multi-row INSERTs built by `build`.
async fn insert_all<'a, T>(
    conn: &mut SqliteConnection,
    rows: &'a [&'a T],
    build: fn(&'a [&'a T]) -> QueryBuilder<'a, Sqlite>,
) -> Result<()> {
    let mut rest = rows;
    for size in chunk_sizes(rows.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        build(chunk).build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn apply_in_tx(conn: &mut SqliteConnection, jobs: &[&Job]) -> Result<Vec<Done>> {
    let stamps = batch::stamps(jobs);
    let mut inserted: HashSet<uuid::Uuid> = HashSet::with_capacity(stamps.len());
    let mut rest = &stamps[..];
    for size in chunk_sizes(stamps.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let affected = insert_stamps(chunk)
            .build()
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if affected as usize == chunk.len() {
            inserted.extend(chunk.iter().map(|s| s.stamp_id));
            continue;
        }
        // Some rows hit the unique key (rare): find out which, one by one. RETURNING would
        // say so directly but costs a worker round trip per returned row.
        for s in chunk {
            let owner: String = sqlx::query(
                "SELECT stamp_id FROM metadata_stamps WHERE file_hash = ? AND namespace = ?",
            )
            .bind(&s.file_hash)
            .bind(&s.namespace)
            .fetch_one(&mut *conn)
            .await?
            .try_get("stamp_id")?;
            if owner == s.stamp_id.to_string() {
                inserted.insert(s.stamp_id);
            }
        }
    }
    let (workflows, events) = batch::dependents(jobs, &inserted);
    let steps: Vec<(&WorkflowRecord, &StepRecord)> = workflows
        .iter()
        .flat_map(|w| w.steps.iter().map(move |s| (*w, s)))
        .collect();
    let transitions: Vec<(&WorkflowRecord, &TransitionRecord)> = workflows
        .iter()
        .flat_map(|w| w.transitions.iter().map(move |t| (*w, t)))
        .collect();
    insert_all(conn, &workflows, insert_workflows).await?;
    insert_all(conn, &steps.iter().collect::<Vec<_>>(), insert_steps).await?;
    insert_all(
        conn,
        &transitions.iter().collect::<Vec<_>>(),
        insert_transitions,
    )
    .await?;
    insert_all(conn, &events, insert_events).await?;

    let mut done = Vec::with_capacity(jobs.len());
    for reply in batch::replies(jobs, &inserted) {
        let s = match reply {
            batch::Reply::Ready(d) => {
                done.push(d);
                continue;
            }
            batch::Reply::Existing(s) => s,
        };
        let row =
            sqlx::query("SELECT * FROM metadata_stamps WHERE namespace = ? AND file_hash = ?")
                .bind(&s.namespace)
                .bind(&s.file_hash)
                .fetch_one(&mut *conn)
                .await?;
        done.push(Done::Stamp(Box::new(StampOutcome::Existing(
            stamp_from_row(&row)?,
        ))));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::chunk_sizes;

    #[test]
    fn chunks_are_powers_of_two_summing_to_n() {
        for n in 0..1000 {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= 256));
        }
        assert_eq!(chunk_sizes(200).collect::<Vec<_>>(), vec![128, 64, 8]);
    }
}
