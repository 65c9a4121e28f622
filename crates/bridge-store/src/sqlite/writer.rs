//! The single SQLite writer. SQLite allows one writer at a time, so instead of many
//! connections contending for the lock, one task owns the write connection and commits the
//! units of work of all concurrent requests together (group commit): one fsync for many
//! stamps, each reply sent only after its transaction is durable.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use super::rows::{stamp_from_row, time_text};
use crate::{Result, StampOutcome, StampWrite};

/// How many units of work may wait for the writer (back-pressure beyond that).
pub(super) const QUEUE_DEPTH: usize = 4096;
/// Most units of work committed in one transaction.
const MAX_BATCH: usize = 256;

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

async fn apply_in_tx(
    conn: &mut SqliteConnection,
    writes: &[&StampWrite],
) -> Result<Vec<StampOutcome>> {
    let mut outcomes = Vec::with_capacity(writes.len());
    for w in writes {
        let s = &w.stamp;
        let inserted = sqlx::query(include_str!("sql/insert_stamp.sql"))
            .bind(s.stamp_id.to_string())
            .bind(&s.namespace)
            .bind(&s.file_hash)
            .bind(&s.content_type)
            .bind(s.file_size)
            .bind(&s.file_path)
            .bind(&s.stamp_type)
            .bind(s.sidecar as i64)
            .bind(&s.stamp)
            .bind(s.metadata.as_ref().map(|m| m.to_string()))
            .bind(&s.op_id)
            .bind(s.workflow_id.map(|w| w.to_string()))
            .bind(s.correlation_id.to_string())
            .bind(time_text(&s.created_at))
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1;
        if inserted {
            for e in &w.events {
                sqlx::query(include_str!("sql/insert_event.sql"))
                    .bind(e.event_id.to_string())
                    .bind(&e.event_type)
                    .bind(&e.topic)
                    .bind(&e.message_key)
                    .bind(e.correlation_id.to_string())
                    .bind(e.workflow_id.map(|w| w.to_string()))
                    .bind(&e.namespace)
                    .bind(&e.payload)
                    .bind(time_text(&e.created_at))
                    .execute(&mut *conn)
                    .await?;
            }
            outcomes.push(StampOutcome::Created(s.clone()));
        } else {
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
