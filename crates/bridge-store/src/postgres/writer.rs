//! Group commit on PostgreSQL. One fsync'd commit per request cannot reach thousands of
//! stamps per second, so concurrent units of work are committed together: a dispatcher takes
//! what is queued and hands it to one of `PARALLEL` committers, each a transaction on its own
//! pooled connection with one `INSERT … SELECT FROM UNNEST(arrays)` per table (a round trip
//! per table, whatever the batch size). Replies go out after COMMIT.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::Acquire;
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use super::rows::stamp_from_row;
use crate::batch::{self, Done, Job};
use crate::{EventRow, Result, StampOutcome, StampRecord, StoreError, WorkflowRecord};
use bridge_core::tlog::{Appender, LogSigner};

/// How many units of work may wait (back-pressure beyond that).
pub(super) const QUEUE_DEPTH: usize = 4096;
/// Most units of work in one transaction.
const MAX_BATCH: usize = 256;
/// Transactions in flight at once: while one waits for its fsync the next is being written.
const PARALLEL: usize = 4;

/// Runs until every sender is gone.
pub(super) async fn run(pool: PgPool, mut rx: mpsc::Receiver<Job>, log: Option<Arc<LogSigner>>) {
    let slots = Arc::new(Semaphore::new(PARALLEL));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // Take a slot before taking jobs: while every committer is busy, jobs pile up in the
        // queue and the next transaction carries them all.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        let jobs = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let pool = pool.clone();
        let log = log.clone();
        tokio::spawn(async move {
            commit(&pool, jobs, log.as_deref()).await;
            drop(slot);
        });
    }
    // Let the last transactions finish before the pool goes.
    let _ = slots.acquire_many(PARALLEL as u32).await;
}

async fn commit(pool: &PgPool, mut jobs: Vec<Job>, log: Option<&LogSigner>) {
    let refs: Vec<&Job> = jobs.iter().collect();
    match apply(pool, &refs, log).await {
        Ok(done) => {
            for (job, d) in jobs.drain(..).zip(done) {
                job.reply(Ok(d));
            }
        }
        Err(e) if jobs.len() == 1 => jobs.remove(0).reply(Err(e)),
        Err(StoreError::Unavailable(message)) => {
            // The database is gone: retrying one by one would only take longer to fail.
            for job in jobs.drain(..) {
                job.reply(Err(StoreError::Unavailable(message.clone())));
            }
        }
        Err(e) => {
            // One bad unit must not fail its neighbours: redo them one by one.
            tracing::warn!(error = %e, size = jobs.len(), "group commit failed; retrying individually");
            for job in jobs.drain(..) {
                let result = apply(pool, &[&job], log).await.map(|mut d| d.remove(0));
                job.reply(result);
            }
        }
    }
}

async fn apply(pool: &PgPool, jobs: &[&Job], log: Option<&LogSigner>) -> Result<Vec<Done>> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let done = apply_in_tx(&mut tx, jobs, log).await?;
    tx.commit().await?;
    Ok(done)
}

async fn apply_in_tx(
    conn: &mut PgConnection,
    jobs: &[&Job],
    log: Option<&LogSigner>,
) -> Result<Vec<Done>> {
    let mut stamps = batch::stamps(jobs);
    // Concurrent transactions take the unique key's locks in the same order: no deadlock.
    stamps.sort_by(|a, b| (&a.file_hash, &a.namespace).cmp(&(&b.file_hash, &b.namespace)));
    let inserted: HashSet<Uuid> = insert_stamps(conn, &stamps).await?;

    let (workflows, events) = batch::dependents(jobs, &inserted);
    insert_workflows(conn, &workflows).await?;
    insert_events(conn, &events).await?;
    let logged = match log {
        Some(signer) => append_log(conn, &batch::entries(jobs, &inserted), signer).await?,
        None => batch::Logged::new(),
    };

    let mut done = Vec::with_capacity(jobs.len());
    for reply in batch::replies(jobs, &inserted, &logged) {
        let s = match reply {
            batch::Reply::Ready(d) => {
                done.push(d);
                continue;
            }
            batch::Reply::Existing(s) => s,
        };
        let row = sqlx::query(concat!(
            "SELECT ",
            stamp_columns!(),
            stamp_from!(),
            " WHERE s.file_hash = $1 AND s.namespace = $2"
        ))
        .bind(&s.file_hash)
        .bind(&s.namespace)
        .fetch_one(&mut *conn)
        .await?;
        done.push(Done::Stamp(Box::new(StampOutcome::Existing(
            stamp_from_row(&row)?,
        ))));
    }
    Ok(done)
}

fn texts<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> &'a str) -> Vec<&'a str> {
    rows.iter().map(|r| f(r)).collect()
}

fn opt_texts<'a, T: 'a>(
    rows: &[&'a T],
    f: impl Fn(&'a T) -> Option<&'a str>,
) -> Vec<Option<&'a str>> {
    rows.iter().map(|r| f(r)).collect()
}

/// Inserts the stamps whose `(file_hash, namespace)` is new; their ids.
async fn insert_stamps(conn: &mut PgConnection, s: &[&StampRecord]) -> Result<HashSet<Uuid>> {
    if s.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = sqlx::query_scalar(include_str!("../../sql/postgres/insert_stamps.sql"))
        .bind(s.iter().map(|r| r.stamp_id).collect::<Vec<_>>())
        .bind(texts(s, |r| &r.namespace))
        .bind(texts(s, |r| &r.file_hash))
        .bind(texts(s, |r| &r.content_type))
        .bind(s.iter().map(|r| r.file_size).collect::<Vec<_>>())
        .bind(opt_texts(s, |r| r.file_path.as_deref()))
        .bind(texts(s, |r| &r.stamp_type))
        .bind(s.iter().map(|r| r.sidecar).collect::<Vec<_>>())
        .bind(texts(s, |r| &r.stamp))
        .bind(
            s.iter()
                .map(|r| r.metadata.as_ref().map(|m| m.to_string()))
                .collect::<Vec<_>>(),
        )
        .bind(opt_texts(s, |r| r.op_id.as_deref()))
        .bind(s.iter().map(|r| r.workflow_id).collect::<Vec<_>>())
        .bind(s.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
        .bind(s.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(opt_texts(s, |r| r.signing_key.as_deref()))
        .bind(opt_texts(s, |r| r.signature.as_deref()))
        .fetch_all(&mut *conn)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Inserts the executions with their steps and transitions.
async fn insert_workflows(conn: &mut PgConnection, w: &[&WorkflowRecord]) -> Result<()> {
    if w.is_empty() {
        return Ok(());
    }
    sqlx::query(include_str!("../../sql/postgres/insert_workflows.sql"))
        .bind(w.iter().map(|r| r.workflow_id).collect::<Vec<_>>())
        .bind(w.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
        .bind(texts(w, |r| &r.namespace))
        .bind(texts(w, |r| &r.state))
        .bind(w.iter().map(|r| r.stamp_id).collect::<Vec<_>>())
        .bind(opt_texts(w, |r| r.error.as_deref()))
        .bind(
            w.iter()
                .map(|r| r.intelligence.as_ref().map(|v| v.to_string()))
                .collect::<Vec<_>>(),
        )
        .bind(w.iter().map(|r| r.started_at).collect::<Vec<_>>())
        .bind(w.iter().map(|r| r.completed_at).collect::<Vec<_>>())
        .bind(w.iter().map(|r| r.duration_ms).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;

    let steps: Vec<_> = w
        .iter()
        .flat_map(|r| r.steps.iter().map(move |s| (r.workflow_id, s)))
        .collect();
    if !steps.is_empty() {
        sqlx::query(include_str!("../../sql/postgres/insert_steps.sql"))
            .bind(steps.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(
                steps
                    .iter()
                    .map(|(_, s)| s.step_index as i32)
                    .collect::<Vec<_>>(),
            )
            .bind(
                steps
                    .iter()
                    .map(|(_, s)| s.step_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                steps
                    .iter()
                    .map(|(_, s)| s.status.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                steps
                    .iter()
                    .map(|(_, s)| s.attempts as i32)
                    .collect::<Vec<_>>(),
            )
            .bind(steps.iter().map(|(_, s)| s.duration_ms).collect::<Vec<_>>())
            .bind(
                steps
                    .iter()
                    .map(|(_, s)| s.error.as_deref())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?;
    }

    let transitions: Vec<_> = w
        .iter()
        .flat_map(|r| {
            r.transitions
                .iter()
                .enumerate()
                .map(move |(i, t)| (r.workflow_id, i as i32, t))
        })
        .collect();
    if !transitions.is_empty() {
        sqlx::query(include_str!("../../sql/postgres/insert_transitions.sql"))
            .bind(transitions.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
            .bind(transitions.iter().map(|(_, i, _)| *i).collect::<Vec<_>>())
            .bind(
                transitions
                    .iter()
                    .map(|(_, _, t)| t.from_state.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                transitions
                    .iter()
                    .map(|(_, _, t)| t.to_state.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                transitions
                    .iter()
                    .map(|(_, _, t)| t.reason.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind(
                transitions
                    .iter()
                    .map(|(_, _, t)| t.created_at)
                    .collect::<Vec<DateTime<Utc>>>(),
            )
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts events as pending outbox rows; `seq` follows their order.
pub(super) async fn insert_events(conn: &mut PgConnection, e: &[&EventRow]) -> Result<()> {
    if e.is_empty() {
        return Ok(());
    }
    sqlx::query(include_str!("../../sql/postgres/insert_events.sql"))
        .bind(e.iter().map(|r| r.event_id).collect::<Vec<_>>())
        .bind(texts(e, |r| r.event_type.as_str()))
        .bind(opt_texts(e, |r| r.topic.as_deref()))
        .bind(texts(e, |r| &r.message_key))
        .bind(e.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
        .bind(e.iter().map(|r| r.workflow_id).collect::<Vec<_>>())
        .bind(opt_texts(e, |r| r.namespace.as_deref()))
        .bind(texts(e, |r| &r.payload))
        .bind(e.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends the entries of a batch's new stamps to the log in its transaction. The head row is
/// locked first (FOR UPDATE): instances sharing the database take turns here, each seeing the
/// size the previous one committed, so there is one tree and no second sequencer.
async fn append_log(
    conn: &mut PgConnection,
    entries: &[(&StampRecord, &[u8])],
    signer: &LogSigner,
) -> Result<batch::Logged> {
    let mut logged = batch::Logged::with_capacity(entries.len());
    if entries.is_empty() {
        return Ok(logged);
    }
    let size: i64 = sqlx::query_scalar("SELECT size FROM log_head WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *conn)
        .await?;
    let size = u64::try_from(size).unwrap_or(0);
    let need = Appender::frontier(size);
    let hashes = read_hashes(&mut *conn, &need).await?;
    let mut tree = Appender::new(size, need.into_iter().zip(hashes));
    let (mut idx, mut ids, mut namespaces, mut bodies) = (vec![], vec![], vec![], vec![]);
    for (stamp, entry) in entries {
        let i = tree.append(entry).map_err(|e| StoreError::Corrupt {
            column: "log_hashes",
            message: e.to_string(),
        })?;
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        idx.push(i);
        ids.push(stamp.stamp_id);
        namespaces.push(stamp.namespace.as_str());
        bodies.push(*entry);
    }
    sqlx::query(
        "INSERT INTO log_entries (idx, stamp_id, namespace, entry) \
         SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::text[], $4::bytea[])",
    )
    .bind(&idx)
    .bind(&ids)
    .bind(&namespaces)
    .bind(&bodies)
    .execute(&mut *conn)
    .await?;
    let hash_ids: Vec<i64> = tree
        .added()
        .iter()
        .map(|(i, _)| i64::try_from(*i).unwrap_or(i64::MAX))
        .collect();
    let hashes: Vec<&[u8]> = tree.added().iter().map(|(_, h)| &h.0[..]).collect();
    sqlx::query("INSERT INTO log_hashes (id, hash) SELECT * FROM UNNEST($1::int8[], $2::bytea[])")
        .bind(&hash_ids)
        .bind(&hashes)
        .execute(&mut *conn)
        .await?;
    let root = tree.root().map_err(|e| StoreError::Corrupt {
        column: "log_hashes",
        message: e.to_string(),
    })?;
    let new_size = i64::try_from(tree.size()).unwrap_or(i64::MAX);
    sqlx::query("UPDATE log_head SET size = $1 WHERE id = 1")
        .bind(new_size)
        .execute(&mut *conn)
        .await?;
    let note: Arc<str> = signer.checkpoint(tree.size(), &root).into();
    sqlx::query("INSERT INTO log_checkpoints (size, note, created_at) VALUES ($1, $2, now())")
        .bind(new_size)
        .bind(&*note)
        .execute(&mut *conn)
        .await?;
    // Every proof of this batch's entries is in the hashes the tree holds now.
    for (id, i) in ids.iter().zip(&idx) {
        let index = u64::try_from(*i).unwrap_or(0);
        let path = bridge_core::tlog::prove_record(tree.size(), index, &tree).map_err(|e| {
            StoreError::Corrupt {
                column: "log_hashes",
                message: e.to_string(),
            }
        })?;
        let checkpoint = note.clone();
        logged.insert(*id, (*i, crate::LogProof { checkpoint, path }));
    }
    Ok(logged)
}

/// The stored log hashes at `indexes`, in that order, in one statement (the writer's
/// transaction reads the frontier with it, the store the hashes of proofs and tiles).
pub(super) async fn read_hashes<'e>(
    e: impl sqlx::PgExecutor<'e>,
    indexes: &[u64],
) -> Result<Vec<bridge_core::tlog::Hash>> {
    let ids: Vec<i64> = indexes.iter().map(|&i| crate::log::id(i)).collect();
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(crate::log::POSTGRES_SELECT)
        .bind(&ids)
        .fetch_all(e)
        .await?;
    crate::log::in_order(indexes, rows)
}
