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
use tokio::sync::{mpsc, oneshot};

use super::rows::{stamp_from_row, time_text};
use crate::{EventRow, Result, StampOutcome, StampRecord, StampWrite};

/// How many units of work may wait for the writer (back-pressure beyond that).
pub(super) const QUEUE_DEPTH: usize = 4096;
/// Most units of work committed in one transaction.
const MAX_BATCH: usize = 256;
/// Largest multi-row INSERT (rows); 256 × 14 parameters stays under SQLite's limit.
const MAX_ROWS_PER_INSERT: usize = 256;

/// A unit of work and where to send its outcome.
pub(super) struct Job {
    pub(super) write: StampWrite,
    pub(super) reply: oneshot::Sender<Result<StampOutcome>>,
}

/// Runs until every sender is gone.
pub(super) async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let writes: Vec<&StampWrite> = batch.iter().map(|j| &j.write).collect();
        match apply(&mut conn, &writes).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                let job = batch.pop().expect("one job");
                let _ = job.reply.send(Err(e));
            }
            Err(e) => {
                // One bad unit must not fail its neighbours: redo them one by one.
                tracing::warn!(error = %e, size = batch.len(), "group commit failed; retrying individually");
                for job in batch.drain(..) {
                    let result = apply(&mut conn, &[&job.write])
                        .await
                        .map(|mut o| o.remove(0));
                    let _ = job.reply.send(result);
                }
            }
        }
    }
    let _ = conn.close().await;
}

async fn apply(conn: &mut SqliteConnection, writes: &[&StampWrite]) -> Result<Vec<StampOutcome>> {
    // IMMEDIATE: take the write lock up front rather than failing on upgrade.
    conn.execute("BEGIN IMMEDIATE").await?;
    match apply_in_tx(conn, writes).await {
        Ok(outcomes) => match conn.execute("COMMIT").await {
            Ok(_) => Ok(outcomes),
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

async fn apply_in_tx(
    conn: &mut SqliteConnection,
    writes: &[&StampWrite],
) -> Result<Vec<StampOutcome>> {
    let stamps: Vec<&StampRecord> = writes.iter().map(|w| &w.stamp).collect();
    let mut inserted: HashSet<String> = HashSet::with_capacity(stamps.len());
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
            inserted.extend(chunk.iter().map(|s| s.stamp_id.to_string()));
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
                inserted.insert(owner);
            }
        }
    }
    // Events only for stamps that are new (a duplicate writes nothing).
    let events: Vec<&EventRow> = writes
        .iter()
        .filter(|w| inserted.contains(&w.stamp.stamp_id.to_string()))
        .flat_map(|w| w.events.iter())
        .collect();
    let mut rest = &events[..];
    for size in chunk_sizes(events.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        insert_events(chunk).build().execute(&mut *conn).await?;
    }
    let mut outcomes = Vec::with_capacity(writes.len());
    for s in stamps {
        if inserted.contains(&s.stamp_id.to_string()) {
            outcomes.push(StampOutcome::Created(s.clone()));
        } else {
            // The first stamp of this content: committed earlier, or earlier in this batch.
            let row =
                sqlx::query("SELECT * FROM metadata_stamps WHERE namespace = ? AND file_hash = ?")
                    .bind(&s.namespace)
                    .bind(&s.file_hash)
                    .fetch_one(&mut *conn)
                    .await?;
            outcomes.push(StampOutcome::Existing(stamp_from_row(&row)?));
        }
    }
    Ok(outcomes)
}

fn insert_stamps<'a>(rows: &'a [&'a StampRecord]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO metadata_stamps (stamp_id, namespace, file_hash, content_type, file_size, \
         file_path, stamp_type, sidecar, stamp, metadata, op_id, workflow_id, correlation_id, created_at) ",
    );
    q.push_values(rows, |mut b, s| {
        b.push_bind(s.stamp_id.to_string())
            .push_bind(&s.namespace)
            .push_bind(&s.file_hash)
            .push_bind(&s.content_type)
            .push_bind(s.file_size)
            .push_bind(&s.file_path)
            .push_bind(&s.stamp_type)
            .push_bind(i64::from(s.sidecar))
            .push_bind(&s.stamp)
            .push_bind(s.metadata.as_ref().map(|m| m.to_string()))
            .push_bind(&s.op_id)
            .push_bind(s.workflow_id.map(|w| w.to_string()))
            .push_bind(s.correlation_id.to_string())
            .push_bind(time_text(&s.created_at));
    });
    q.push(" ON CONFLICT (file_hash, namespace) DO NOTHING");
    q
}

fn insert_events<'a>(rows: &'a [&'a EventRow]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO event_logs (event_id, event_type, topic, message_key, correlation_id, \
         workflow_id, namespace, payload, status, attempts, created_at) ",
    );
    q.push_values(rows, |mut b, e| {
        b.push_bind(e.event_id.to_string())
            .push_bind(&e.event_type)
            .push_bind(&e.topic)
            .push_bind(&e.message_key)
            .push_bind(e.correlation_id.to_string())
            .push_bind(e.workflow_id.map(|w| w.to_string()))
            .push_bind(&e.namespace)
            .push_bind(&e.payload)
            .push_bind("pending")
            .push_bind(0i64)
            .push_bind(time_text(&e.created_at));
    });
    q
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
