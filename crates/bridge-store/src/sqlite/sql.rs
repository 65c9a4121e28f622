//! The INSERT statements of the write path, one row each on the writer's direct connection
//! (prepared once, cached). Public for the store benchmark, whose raw anchor writes the same
//! rows with the same statements.

use bridge_core::tlog::{prove_record, Appender, LogSigner};
use rusqlite::{params, Transaction};

use super::rows::time_text;
use crate::{EventRow, StampRecord, StepRecord, TransitionRecord, WorkflowRecord};

/// Inserts a `metadata_stamps` row; `false` when its `(file_hash, namespace)` already exists.
pub fn insert_stamp(tx: &Transaction<'_>, s: &StampRecord) -> rusqlite::Result<bool> {
    let mut st = tx.prepare_cached(include_str!("../../sql/sqlite/insert_stamp.sql"))?;
    let changed = st.execute(params![
        s.stamp_id.to_string(),
        s.namespace,
        s.file_hash,
        s.content_type,
        s.file_size,
        s.file_path,
        s.stamp_type,
        i64::from(s.sidecar),
        s.stamp,
        s.metadata.as_ref().map(|m| m.to_string()),
        s.op_id,
        s.workflow_id.map(|w| w.to_string()),
        s.correlation_id.to_string(),
        time_text(&s.created_at),
        s.signing_key,
        s.signature,
    ])?;
    Ok(changed == 1)
}

/// Inserts a workflow: its `workflow_executions` row, its steps and its transitions.
pub fn insert_workflow(tx: &Transaction<'_>, w: &WorkflowRecord) -> rusqlite::Result<()> {
    let id = w.workflow_id.to_string();
    tx.prepare_cached(include_str!("../../sql/sqlite/insert_workflow.sql"))?
        .execute(params![
            id,
            w.correlation_id.to_string(),
            w.namespace,
            w.state,
            w.stamp_id.map(|s| s.to_string()),
            w.error,
            w.intelligence.as_ref().map(|v| v.to_string()),
            time_text(&w.started_at),
            w.completed_at.as_ref().map(time_text),
            w.duration_ms,
        ])?;
    let mut steps = tx.prepare_cached(
        "INSERT INTO workflow_steps (workflow_id, step_index, step_name, status, attempts, \
         duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    for s in &w.steps {
        insert_step(&mut steps, &id, s)?;
    }
    let mut transitions = tx.prepare_cached(
        "INSERT INTO fsm_transitions (workflow_id, position, from_state, to_state, reason, \
         created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    for (position, t) in w.transitions.iter().enumerate() {
        insert_transition(&mut transitions, &id, position as i64, t)?;
    }
    Ok(())
}

fn insert_step(
    st: &mut rusqlite::CachedStatement<'_>,
    workflow_id: &str,
    s: &StepRecord,
) -> rusqlite::Result<()> {
    st.execute(params![
        workflow_id,
        s.step_index,
        s.step_name,
        s.status,
        s.attempts,
        s.duration_ms,
        s.error,
    ])?;
    Ok(())
}

fn insert_transition(
    st: &mut rusqlite::CachedStatement<'_>,
    workflow_id: &str,
    position: i64,
    t: &TransitionRecord,
) -> rusqlite::Result<()> {
    st.execute(params![
        workflow_id,
        position,
        t.from_state,
        t.to_state,
        t.reason,
        time_text(&t.created_at),
    ])?;
    Ok(())
}

/// One pending `event_logs` row; the parameters are those of [`insert_events`] (also used
/// on the sqlx connection by the registry's saves).
pub(super) const INSERT_EVENT: &str = include_str!("../../sql/sqlite/insert_event.sql");

/// Inserts `event_logs` rows, all pending.
pub fn insert_events<'a>(
    tx: &Transaction<'_>,
    events: impl IntoIterator<Item = &'a EventRow>,
) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(INSERT_EVENT)?;
    for e in events {
        st.execute(params![
            e.event_id.to_string(),
            e.event_type.as_str(),
            e.topic,
            e.message_key,
            e.correlation_id.to_string(),
            e.workflow_id.map(|w| w.to_string()),
            e.namespace,
            e.payload,
            time_text(&e.created_at),
        ])?;
    }
    Ok(())
}

/// Appends the entries of a batch's new stamps to the log in its transaction: reads the
/// tree's size and frontier, stores the new entries (each with its stamp's id) and hashes, and
/// signs one checkpoint for the new size. The stamps' indexes.
pub fn append_log(
    tx: &Transaction<'_>,
    entries: &[(&StampRecord, &[u8])],
    signer: &LogSigner,
) -> crate::Result<crate::batch::Logged> {
    let mut logged = crate::batch::Logged::with_capacity(entries.len());
    if entries.is_empty() {
        return Ok(logged);
    }
    let size: i64 = tx.query_row("SELECT size FROM log_head WHERE id = 1", [], |r| r.get(0))?;
    let size = u64::try_from(size).unwrap_or(0);
    let need = Appender::frontier(size);
    let rows = tx
        .prepare_cached(crate::log::SQLITE_SELECT)?
        .query_map(
            [serde_json::to_string(&need).expect("numbers serialise")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<Vec<(i64, Vec<u8>)>>>()?;
    let hashes = crate::log::in_order(&need, rows)?;
    let mut tree = Appender::new(size, need.into_iter().zip(hashes));
    let mut added = Vec::with_capacity(entries.len());
    let mut insert = tx.prepare_cached(
        "INSERT INTO log_entries (idx, stamp_id, namespace, entry) VALUES (?, ?, ?, ?)",
    )?;
    for (stamp, entry) in entries {
        let idx = tree.append(entry).map_err(tree_error)?;
        let idx = i64::try_from(idx).unwrap_or(i64::MAX);
        let id = stamp.stamp_id.to_string();
        insert.execute(params![idx, id, stamp.namespace, entry])?;
        added.push((stamp.stamp_id, idx));
    }
    let mut hash = tx.prepare_cached("INSERT INTO log_hashes (id, hash) VALUES (?, ?)")?;
    for (i, h) in tree.added() {
        hash.execute(params![i64::try_from(*i).unwrap_or(i64::MAX), &h.0[..]])?;
    }
    let root = tree.root().map_err(tree_error)?;
    let new_size = i64::try_from(tree.size()).unwrap_or(i64::MAX);
    let note: std::sync::Arc<str> = signer.checkpoint(tree.size(), &root).into();
    tx.execute("UPDATE log_head SET size = ? WHERE id = 1", [new_size])?;
    tx.execute(
        "INSERT INTO log_checkpoints (size, note, created_at) VALUES (?, ?, ?)",
        params![new_size, &*note, time_text(&chrono::Utc::now())],
    )?;
    // Every proof of this batch's entries is in the hashes the tree holds now: the old
    // frontier and what the batch added.
    for (id, idx) in added {
        let index = u64::try_from(idx).unwrap_or(0);
        let path = prove_record(tree.size(), index, &tree).map_err(tree_error)?;
        let checkpoint = note.clone();
        logged.insert(id, (idx, crate::LogProof { checkpoint, path }));
    }
    Ok(logged)
}

fn tree_error(e: bridge_core::tlog::TreeError) -> crate::StoreError {
    crate::StoreError::Corrupt {
        column: "log_hashes",
        message: e.to_string(),
    }
}
